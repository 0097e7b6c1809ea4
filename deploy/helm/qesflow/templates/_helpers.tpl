{{- define "qesflow.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "qesflow.labels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/component: {{ .component }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "qesflow.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "qesflow.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Environment every process that talks to Temporal shares; secrets only as file paths. */}}
{{- define "qesflow.temporalEnv" -}}
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
{{- if or .Values.temporal.tls.enabled .Values.temporal.apiKey.secretName }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- with .Values.temporal.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- if and .Values.temporal.tls.secretName .Values.temporal.tls.clientCertificate }}
- name: TEMPORAL_TLS_CERT
  value: /secrets/temporal-tls/tls.crt
- name: TEMPORAL_TLS_KEY
  value: /secrets/temporal-tls/tls.key
{{- end }}
{{- if and .Values.temporal.tls.secretName .Values.temporal.tls.ca }}
- name: TEMPORAL_TLS_CA
  value: /secrets/temporal-tls/ca.crt
{{- end }}
{{- if .Values.temporal.apiKey.secretName }}
- name: TEMPORAL_API_KEY_FILE
  value: /secrets/temporal-api-key/api-key
{{- end }}
- name: QESFLOW_LOG_LEVEL
  value: {{ .Values.log.level | quote }}
- name: QESFLOW_LOG_FORMAT
  value: {{ .Values.log.format | quote }}
{{- end -}}

{{/* Environment of the processes that encrypt payloads. */}}
{{- define "qesflow.codecEnv" -}}
- name: QESFLOW_CODEC_KEYS_FILE
  value: /secrets/codec-keys/codec-keys
{{- end -}}

{{- define "qesflow.temporalVolumes" -}}
{{- if .Values.temporal.tls.secretName }}
- name: temporal-tls
  secret:
    secretName: {{ .Values.temporal.tls.secretName }}
{{- end }}
{{- if .Values.temporal.apiKey.secretName }}
- name: temporal-api-key
  secret:
    secretName: {{ .Values.temporal.apiKey.secretName }}
{{- end }}
- name: codec-keys
  secret:
    secretName: {{ required "codecKeys.secretName is required" .Values.codecKeys.secretName }}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "qesflow.temporalMounts" -}}
{{- if .Values.temporal.tls.secretName }}
- name: temporal-tls
  mountPath: /secrets/temporal-tls
  readOnly: true
{{- end }}
{{- if .Values.temporal.apiKey.secretName }}
- name: temporal-api-key
  mountPath: /secrets/temporal-api-key
  readOnly: true
{{- end }}
- name: codec-keys
  mountPath: /secrets/codec-keys
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "qesflow.probes" -}}
startupProbe:
  httpGet: {path: /healthz, port: {{ .port }}}
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: {path: /healthz, port: {{ .port }}}
  periodSeconds: 10
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readyz, port: {{ .port }}}
  periodSeconds: 10
  timeoutSeconds: 6
  failureThreshold: 3
{{- end -}}

{{- define "qesflow.podSecurity" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
