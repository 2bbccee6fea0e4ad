{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "celsiusify.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: every object of a release uses it, and the HPA targets it. */}}
{{- define "celsiusify.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "celsiusify.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: name and instance only. Selectors are immutable: never a version here. */}}
{{- define "celsiusify.selectorLabels" -}}
app.kubernetes.io/name: {{ include "celsiusify.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of the `helm test` pod: the release's, but a name of its own, so that no selector of the
     release (Deployment, Service, PDB, HPA, topology spread) matches it or adopts it. */}}
{{- define "celsiusify.testLabels" -}}
helm.sh/chart: {{ include "celsiusify.chart" . }}
{{ include "celsiusify.testSelectorLabels" . }}
app.kubernetes.io/component: helm-test
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: celsiusify
{{- end }}

{{/* What picks the `helm test` pod out (its NetworkPolicy, and the app's policy admitting it). */}}
{{- define "celsiusify.testSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-test" (include "celsiusify.name" . | trunc 58 | trimSuffix "-") }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "celsiusify.labels" -}}
helm.sh/chart: {{ include "celsiusify.chart" . }}
{{ include "celsiusify.selectorLabels" . }}
app.kubernetes.io/version: {{ (.Values.image.tag | default .Chart.AppVersion) | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: celsiusify
{{- end }}

{{- define "celsiusify.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "celsiusify.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image by digest (repository@sha256:…) when image.digest is set: the bytes cannot change
     under the same reference. By tag otherwise (image.tag, else the chart's appVersion). */}}
{{- define "celsiusify.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Every namespaced object names its namespace, so a rendered manifest applied with
     `kubectl apply -f` lands where `helm template --namespace` said, not in the default one. */}}
{{- define "celsiusify.namespace" -}}
{{- .Release.Namespace }}
{{- end }}

{{/* In-cluster URL of the Service. */}}
{{- define "celsiusify.url" -}}
{{- printf "http://%s.%s.svc:%v" (include "celsiusify.fullname" .) .Release.Namespace .Values.service.port }}
{{- end }}

{{/* An httpGet probe on the named port. */}}
{{- define "celsiusify.probe" -}}
httpGet:
  path: {{ .path }}
  port: http
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
failureThreshold: {{ .failureThreshold }}
{{- end }}

{{/* Pod placement and pull secrets, shared by the Deployment's pods and the `helm test` pod. */}}
{{- define "celsiusify.podPlacement" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Container args, one list item per flag, built from values as ingress-nginx's _params.tpl
     builds its controller's. Explicit .Values.args (another server: tfserving/values.yaml) replace
     them whole, each string through tpl ("{{ .Values.containerPort }}"), and server.* is unused.
     Otherwise the app's own flags (`python -m app --help`): --port from containerPort, the
     shutdown timings from server.*, then server.extraArgs in key order: true renders a bare
     --flag, false or null leaves it out, anything else renders --flag=value. */}}
{{- define "celsiusify.args" -}}
{{- if .Values.args }}
{{- range .Values.args }}
- {{ tpl (toString .) $ | quote }}
{{- end }}
{{- else }}
{{- $server := .Values.server }}
{{- /* Flags values own, and the key that sets each: the chart derives other objects from them
       (the container port from containerPort; the drain the grace period must cover from the
       shutdown timings), so server.extraArgs may not set them a second time. */}}
{{- $managed := dict "host" "server.host" "port" "containerPort" "shutdown-delay" "server.shutdownDelaySeconds" "timeout-graceful-shutdown" "server.timeoutGracefulShutdownSeconds" }}
- "python"
- "-m"
- "app"
- {{ printf "--host=%v" $server.host | quote }}
- {{ printf "--port=%v" .Values.containerPort | quote }}
- {{ printf "--shutdown-delay=%v" $server.shutdownDelaySeconds | quote }}
- {{ printf "--timeout-graceful-shutdown=%v" $server.timeoutGracefulShutdownSeconds | quote }}
{{- range $flag, $value := $server.extraArgs }}
{{- if hasKey $managed $flag }}
{{- fail (printf "celsiusify: server.extraArgs.%s repeats a flag the chart renders from values: set %s instead" $flag (get $managed $flag)) }}
{{- end }}
{{- if kindIs "bool" $value }}
{{- if $value }}
- {{ printf "--%s" $flag | quote }}
{{- end }}
{{- else if not (kindIs "invalid" $value) }}
- {{ printf "--%s=%v" $flag $value | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Seconds the main process needs after SIGTERM. With the app's flags (args empty) it follows
     from them: the readiness delay (rounded up) plus the graceful timeout, so changing either
     moves the check below. shutdown.processDrainSeconds, when set, is for another server's
     explicit args (TF Serving: 1); with the app's flags it may only add room, never claim less. */}}
{{- define "celsiusify.processDrainSeconds" -}}
{{- $derived := add (ceil .Values.server.shutdownDelaySeconds) .Values.server.timeoutGracefulShutdownSeconds }}
{{- $set := .Values.shutdown.processDrainSeconds }}
{{- if kindIs "invalid" $set }}
{{- $derived }}
{{- else if and (not .Values.args) (lt (int $set) (int $derived)) }}
{{- fail (printf "celsiusify: shutdown.processDrainSeconds (%v) is less than the app's own drain, server.shutdownDelaySeconds rounded up + server.timeoutGracefulShutdownSeconds (%v): leave it null and the chart derives it" $set $derived) }}
{{- else }}
{{- $set }}
{{- end }}
{{- end }}

{{/* Refuse values that would deploy something broken, with one clear line each. */}}
{{- define "celsiusify.validate" -}}
{{- $fullname := include "celsiusify.fullname" . }}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $fullname) }}
{{- fail (printf "celsiusify: the Service name %q (from release name %q) is not a DNS-1035 label, which the API server requires: it must start with a letter and hold only lowercase letters, digits and '-' (no dots). Choose another release name, or set fullnameOverride" $fullname .Release.Name) }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- if not (and .Values.resources .Values.resources.requests .Values.resources.requests.cpu) }}
{{- fail "celsiusify: resources.requests.cpu is required while autoscaling.enabled=true (the HPA's CPU utilisation is measured against it)" }}
{{- end }}
{{- if gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas) }}
{{- fail "celsiusify: autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- end }}
{{- $needed := add .Values.shutdown.preStopSleepSeconds (include "celsiusify.processDrainSeconds" .) }}
{{- if lt (int .Values.shutdown.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "celsiusify: shutdown.terminationGracePeriodSeconds (%v) must be at least preStopSleepSeconds + the process's drain (%v), or in-flight requests are killed" .Values.shutdown.terminationGracePeriodSeconds $needed) }}
{{- end }}
{{- end }}

{{/* NetworkPolicy peer: pods with these labels in the namespace named (empty: the release's). */}}
{{- define "celsiusify.networkPolicyPeer" -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ .namespace | default .releaseNamespace | quote }}
  podSelector:
    {{- if .podLabels }}
    matchLabels:
      {{- toYaml .podLabels | nindent 6 }}
    {{- else }} {}
    {{- end }}
{{- end }}

{{/* NetworkPolicy egress rule to the cluster's DNS, UDP and TCP. */}}
{{- define "celsiusify.dnsEgress" -}}
- to:
    {{- include "celsiusify.networkPolicyPeer" (dict "namespace" .Values.networkPolicy.egress.dnsNamespace "podLabels" .Values.networkPolicy.egress.dnsPodLabels "releaseNamespace" .Release.Namespace) | nindent 4 }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}

{{/* Prometheus Operator objects: only where the API server serves monitoring.coreos.com/v1,
     unless forced (helm template, offline GitOps renders). Call with the object's values. */}}
{{- define "celsiusify.prometheusOperator" -}}
{{- if and .values.enabled (or .values.force (.root.Capabilities.APIVersions.Has "monitoring.coreos.com/v1")) }}true{{ end }}
{{- end }}
