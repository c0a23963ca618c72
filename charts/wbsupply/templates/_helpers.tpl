{{/* Chart name, truncated to 63 characters (a label value). */}}
{{- define "wbsupply.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name prefix of every resource. */}}
{{- define "wbsupply.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: <fullname>-<component>. Call with (dict "root" $ "component" "api"). */}}
{{- define "wbsupply.componentName" -}}
{{- printf "%s-%s" (include "wbsupply.fullname" .root | trunc 50 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "wbsupply.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "wbsupply.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wbsupply.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "wbsupply.labels" -}}
{{ include "wbsupply.selectorLabels" . }}
helm.sh/chart: {{ include "wbsupply.chart" .root }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: wbsupply
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "wbsupply.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "wbsupply.workerImage" -}}
{{- printf "%s:%s" .Values.workerImage.repository (default .Chart.AppVersion .Values.workerImage.tag) -}}
{{- end -}}

{{/* ConfigMap and Secret with the WBSUPPLY_* environment shared by every component and the workers. */}}
{{- define "wbsupply.configName" -}}
{{- include "wbsupply.componentName" (dict "root" . "component" "config") -}}
{{- end -}}

{{- define "wbsupply.secretName" -}}
{{- default (include "wbsupply.componentName" (dict "root" . "component" "env")) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "wbsupply.databaseUrl" -}}
{{- if .Values.postgresql.enabled -}}
{{- printf "postgresql+psycopg://%s:%s@%s:5432/%s" .Values.postgresql.username (include "wbsupply.postgresqlPassword" .) (include "wbsupply.componentName" (dict "root" . "component" "postgresql")) .Values.postgresql.database -}}
{{- else -}}
{{- required "postgresql.enabled is false: set externalDatabase.url (or secrets.existingSecret)" .Values.externalDatabase.url -}}
{{- end -}}
{{- end -}}

{{- define "wbsupply.redisUrl" -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://%s:6379/0" (include "wbsupply.componentName" (dict "root" . "component" "redis")) -}}
{{- else -}}
{{- required "redis.enabled is false: set externalRedis.url (or secrets.existingSecret)" .Values.externalRedis.url -}}
{{- end -}}
{{- end -}}

{{/* A generated secret value that survives upgrades: reuse what the cluster has (lookup is empty offline). */}}
{{- define "wbsupply.keptSecret" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- if and $existing (hasKey $existing.data .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- .fallback -}}
{{- end -}}
{{- end -}}

{{/*
Generated once per render and cached in .Values (both Secrets must see the same value); on upgrades the
value stored in the cluster wins, so passwords and keys do not rotate by accident.
*/}}
{{- define "wbsupply.postgresqlPassword" -}}
{{- if not .Values.postgresql.password -}}
{{- $secret := include "wbsupply.componentName" (dict "root" . "component" "postgresql") -}}
{{- $value := include "wbsupply.keptSecret" (dict "root" . "secret" $secret "key" "password" "fallback" (randAlphaNum 32)) -}}
{{- $_ := set .Values.postgresql "password" $value -}}
{{- end -}}
{{- .Values.postgresql.password -}}
{{- end -}}

{{- define "wbsupply.adminSecretName" -}}
{{- default (include "wbsupply.componentName" (dict "root" . "component" "admin")) .Values.admin.existingSecret -}}
{{- end -}}

{{- define "wbsupply.adminPassword" -}}
{{- $secret := include "wbsupply.componentName" (dict "root" . "component" "admin") -}}
{{- include "wbsupply.keptSecret" (dict "root" . "secret" $secret "key" "password" "fallback" (randAlphaNum 24)) -}}
{{- end -}}

{{- define "wbsupply.sandboxName" -}}
{{- include "wbsupply.componentName" (dict "root" . "component" "sandbox") -}}
{{- end -}}

{{- define "wbsupply.secretKey" -}}
{{- if not .Values.secrets.secretKey -}}
{{- $secret := include "wbsupply.componentName" (dict "root" . "component" "env") -}}
{{- $value := include "wbsupply.keptSecret" (dict "root" . "secret" $secret "key" "WBSUPPLY_SECRET_KEY" "fallback" (randAlphaNum 48)) -}}
{{- $_ := set .Values.secrets "secretKey" $value -}}
{{- end -}}
{{- .Values.secrets.secretKey -}}
{{- end -}}

{{/* env + envFrom of every wbsupply container. */}}
{{- define "wbsupply.envFrom" -}}
- configMapRef:
    name: {{ include "wbsupply.configName" . }}
- secretRef:
    name: {{ include "wbsupply.secretName" . }}
{{- end -}}

{{/* The restricted security settings and the writable /tmp every component gets. */}}
{{- define "wbsupply.podSecurity" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
One wbsupply Deployment. Call with (dict "root" $ "component" "api" "values" .Values.api "args" (list "api")
"ports" (list ...) "env" (list ...) "probes" dict "serviceAccount" bool).
*/}}
{{- define "wbsupply.deployment" -}}
{{- $root := .root -}}
{{- $ctx := dict "root" $root "component" .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "wbsupply.componentName" $ctx }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "wbsupply.labels" $ctx | nindent 4 }}
spec:
  replicas: {{ .values.replicaCount }}
  {{- with .strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "wbsupply.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "wbsupply.selectorLabels" $ctx | nindent 8 }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/config.yaml") $root | sha256sum }}
        {{- with .values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "wbsupply.serviceAccountName" $ctx }}
      {{- with .priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      automountServiceAccountToken: {{ .kubeApi | default false }}
      enableServiceLinks: false
      {{- include "wbsupply.podSecurity" $root | nindent 6 }}
      containers:
        - name: {{ .component }}
          image: {{ include "wbsupply.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["wbsupply"]
          args:
            {{- toYaml .args | nindent 12 }}
          envFrom:
            {{- include "wbsupply.envFrom" $root | nindent 12 }}
          {{- with .env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .ports }}
          ports:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .probes }}
          {{- toYaml . | nindent 10 }}
          {{- end }}
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
      {{- with .values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/*
The ServiceAccount a component's pods run as: its own when serviceAccount.create, else the one named in
serviceAccount.names (or "default"). Call with (dict "root" $ "component" "api").
*/}}
{{- define "wbsupply.serviceAccountName" -}}
{{- if .root.Values.serviceAccount.create -}}
{{- include "wbsupply.componentName" . -}}
{{- else -}}
{{- index .root.Values.serviceAccount.names .component | default "default" -}}
{{- end -}}
{{- end -}}

{{/* A ServiceAccount of one component. */}}
{{- define "wbsupply.serviceAccount" -}}
{{- $ctx := dict "root" .root "component" .component -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "wbsupply.componentName" $ctx }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "wbsupply.labels" $ctx | nindent 4 }}
  {{- with .root.Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end -}}

{{/* A ClusterIP Service of one component with one named port. */}}
{{- define "wbsupply.service" -}}
{{- $ctx := dict "root" .root "component" .component -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "wbsupply.componentName" $ctx }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "wbsupply.labels" $ctx | nindent 4 }}
spec:
  type: {{ .type | default "ClusterIP" }}
  {{- if .headless }}
  clusterIP: None
  {{- end }}
  selector:
    {{- include "wbsupply.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: {{ .portName }}
      port: {{ .port }}
      targetPort: {{ .portName }}
      protocol: TCP
{{- end -}}
