"""The feed tests use the root conftest's `redis_server` (a real redis-server)."""
