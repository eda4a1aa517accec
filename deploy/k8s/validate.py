#!/usr/bin/env python3
"""Validates the manifests of deploy/k8s offline, strictly, and proves that it can fail.

    python3 deploy/k8s/validate.py [DIR]        # DIR: deploy/k8s by default
    python3 deploy/k8s/validate.py --self-test  # broken copies of DIR, each of which must fail

Every YAML document of every *.yaml file in DIR (except kustomization.yaml, checked on its own) is checked:

- Kubernetes' own kinds with PyPI's kubernetes-validate (which bundles the API's JSON schemas), in strict
  mode (an unknown field is an error), against each of KUBERNETES_VERSIONS. A kind it has no schema for is
  an error here (kubernetes-validate itself only warns and passes).
- KEDA's ScaledObject and TriggerAuthentication against the openAPIV3Schema of KEDA's own CRDs, kept in
  schemas/ (schemas/README.md: which release), converted to JSON Schema as the API server reads them: an
  object schema that lists its properties takes no other (additionalProperties false) unless it says
  x-kubernetes-preserve-unknown-fields; int-or-string, nullable; `metadata` against Kubernetes' ObjectMeta;
  the CRD's CEL rules (x-kubernetes-validations) by a Python equivalent of each, and a CEL rule without one
  is an error, so that a newer CRD cannot skip a check unnoticed. kubernetes-validate cannot take a CRD's
  schema (it looks kinds up in its bundled folder only), hence this script.
- What no schema says: the rabbitmq trigger's metadata keys and values (schemas/keda-rabbitmq-scaler.json),
  the queue each ScaledObject watches (the worker's own queue, named as crates/broker/src/topology.rs names
  it, with the ConfigMap's prefix), the Deployments and TriggerAuthentications referred to, the Secret's
  and ConfigMap's keys, the probes' ports, every container's securityContext and resources, and that
  kustomization.yaml lists every manifest.

Nothing is downloaded: the schemas come from the kubernetes-validate package and from this repository.
Exit status 0: valid; 1: something is not (each problem printed); 2: the validator cannot run.
"""

import argparse
import functools
import json
import os
import re
import shutil
import sys
import tempfile

try:
    import jsonschema
    import kubernetes_validate
    import kubernetes_validate.utils as kv_utils
    import referencing
    import referencing.jsonschema
    import yaml
except ImportError as error:  # pragma: no cover
    print(f"validate.py needs kubernetes-validate (pip install kubernetes-validate): {error}", file=sys.stderr)
    sys.exit(2)

# The Kubernetes versions checked: 1.35 is the API KEDA v2.20.2 is built against (k8s.io/api v0.35.5 in its
# go.mod), 1.33 two minor versions older. Pinned: a new kubernetes-validate adds versions, not these checks.
KUBERNETES_VERSIONS = ["1.33", "1.35"]

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TOPOLOGY = os.path.join(REPO, "crates", "broker", "src", "topology.rs")

KEDA_CRDS = {  # (apiVersion, kind) -> the CRD file in schemas/
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh_scaledobjects.yaml",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda.sh_triggerauthentications.yaml",
}

# Each worker binary and the work queue it consumes (its routing key: crates/broker/src/topology.rs).
WORKER_QUEUES = {
    "newspipe-fetcher": "fetch",
    "newspipe-extractor": "extract",
    "newspipe-store": "store",
    "newspipe-warc-reader": "warc",
    "newspipe-renderer": "render",
}

# The CEL rules of KEDA's CRDs, each with the same check in Python (`obj` is the object the rule is on).
CEL_RULES = {
    "!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) ? self.maxReplicaCount : 100)":
        lambda obj: "minReplicaCount" not in obj or obj["minReplicaCount"] <= obj.get("maxReplicaCount", 100),
}

GO_BOOLEANS = {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}
KUSTOMIZATION_KEYS = {"apiVersion", "kind", "namespace", "labels", "resources", "secretGenerator", "images"}


class StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (PyYAML keeps the last; kubectl errs)."""


def _mapping_without_duplicates(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} given twice", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def load_documents(path):
    with open(path) as f:
        return [d for d in yaml.load_all(f, Loader=StrictLoader) if d is not None]


# kubernetes-validate reads its JSON schema files again at every call; they do not change: read each once.
if hasattr(kv_utils, "schema_contents"):
    kv_utils.schema_contents = functools.lru_cache(maxsize=None)(kv_utils.schema_contents)


def bundled_version(wanted):
    """The newest version kubernetes-validate has schemas for that is not newer than `wanted`."""
    major_minor = tuple(int(p) for p in wanted.split(".")[:2])
    have = [v for v in kv_utils.all_versions() if tuple(int(p) for p in v.split(".")[:2]) <= major_minor]
    if not have or tuple(int(p) for p in have[-1].split(".")[:2]) != major_minor:
        raise SystemExit(f"validate.py: kubernetes-validate {kubernetes_validate.__version__} has no "
                         f"schemas for Kubernetes {wanted}")
    return have[-1]


@functools.lru_cache(maxsize=None)
def kubernetes_definitions(version):
    return kv_utils.schema_contents(f"kubernetes-json-schema/v{bundled_version(version)}-local-strict/"
                                    "_definitions.json", version)


# ------------------------------------------------------------------------------------------ KEDA CRDs ---
def crd_to_json_schema(node, path, cel):
    """The JSON Schema of one structural OpenAPI v3 schema node; CEL rules are collected into `cel` with
    the path (property names from the document's root) of the object they apply to."""
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: crd_to_json_schema(sub, path + [name], cel) for name, sub in value.items()}
        elif key == "items":
            out[key] = crd_to_json_schema(value, path + ["[]"], cel)
        elif key == "additionalProperties" and isinstance(value, dict):
            out[key] = crd_to_json_schema(value, path + ["{}"], cel)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [crd_to_json_schema(sub, path, cel) for sub in value]
        elif key == "not":
            out[key] = crd_to_json_schema(value, path, cel)
        elif key == "x-kubernetes-validations":
            for rule in value:
                if rule["rule"] not in CEL_RULES:
                    raise SystemExit(f"validate.py: the CRD has a CEL rule with no check here, add one to "
                                     f"CEL_RULES: {rule['rule']!r} at {'.'.join(path) or '(root)'}")
                cel.append((path, rule["rule"], rule.get("message", rule["rule"])))
        elif key.startswith("x-kubernetes-") or key in ("description", "nullable", "default", "example"):
            continue  # annotations for the API server; int-or-string and nullable are handled below
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if (node.get("type") == "object" and "properties" in node and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


@functools.lru_cache(maxsize=None)
def keda_schema(crd_file, version):
    """(JSON Schema, CEL rules) of the served version of a KEDA CRD, as (apiVersion, kind)."""
    with open(os.path.join(HERE, "schemas", crd_file)) as f:
        crd = yaml.safe_load(f)
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    served = [v for v in crd["spec"]["versions"] if v["name"] == version and v.get("served", True)]
    if not served:
        raise SystemExit(f"validate.py: {crd_file} serves no version {version}")
    cel = []
    schema = crd_to_json_schema(served[0]["schema"]["openAPIV3Schema"], [], cel)
    schema["properties"]["apiVersion"] = {"const": f"{group}/{version}"}
    schema["properties"]["kind"] = {"const": kind}
    # A manifest says what it wants, never what happened: `status` is the controller's.
    schema["properties"].pop("status", None)
    schema["properties"]["metadata"] = {
        "$ref": "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
    schema["additionalProperties"] = False
    return schema, tuple((tuple(p), r, m) for p, r, m in cel)


def objects_at(document, path):
    """The objects found at `path` (property names; "[]" every item of a list, "{}" every value)."""
    found = [document]
    for step in path:
        following = []
        for obj in found:
            if step == "[]" and isinstance(obj, list):
                following.extend(obj)
            elif step == "{}" and isinstance(obj, dict):
                following.extend(obj.values())
            elif isinstance(obj, dict) and step in obj:
                following.append(obj[step])
        found = following
    return [obj for obj in found if isinstance(obj, dict)]


def validate_keda(document, crd_file, kubernetes_version):
    version = document["apiVersion"].split("/", 1)[1]
    schema, cel = keda_schema(crd_file, version)
    registry = referencing.Registry().with_resource(
        "https://kubernetes.io/api/_definitions.json",
        referencing.Resource.from_contents(kubernetes_definitions(kubernetes_version),
                                           default_specification=referencing.jsonschema.DRAFT202012))
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    problems = [f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
                for e in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]
    if not problems:  # CEL rules assume the types the schema promised
        for path, rule, message in cel:
            for obj in objects_at(document, path):
                if not CEL_RULES[rule](obj):
                    problems.append(f"{'.'.join(path) or '(root)'}: {message}")
    return problems


# ----------------------------------------------------------------------------------------- the checks ---
class Manifests:
    def __init__(self, directory):
        self.directory = directory
        self.problems = []
        self.documents = []  # (file name, document)

    def problem(self, where, message):
        self.problems.append(f"{where}: {message}")

    def load(self):
        for name in sorted(os.listdir(self.directory)):
            if not name.endswith((".yaml", ".yml")) or name == "kustomization.yaml":
                continue
            try:
                documents = load_documents(os.path.join(self.directory, name))
            except yaml.YAMLError as error:
                self.problem(name, "not valid YAML: " + " ".join(str(error).split()))
                continue
            if not documents:
                self.problem(name, "no YAML document in it")
            for document in documents:
                self.documents.append((name, document))

    def of_kind(self, kind):
        return [(f, d) for f, d in self.documents if isinstance(d, dict) and d.get("kind") == kind]

    @staticmethod
    def label(name, document):
        return f"{name} {document.get('kind')}/{(document.get('metadata') or {}).get('name')}"

    # Each document against its schema.
    def check_schemas(self, versions):
        for name, document in self.documents:
            if not isinstance(document, dict) or not isinstance(document.get("apiVersion"), str) \
                    or not isinstance(document.get("kind"), str):
                self.problem(name, "a document without a string apiVersion and kind")
                continue
            where = self.label(name, document)
            crd = KEDA_CRDS.get((document["apiVersion"], document["kind"]))
            for version in versions:
                if crd:
                    for message in validate_keda(document, crd, version):
                        self.problem(where, f"(KEDA CRD, Kubernetes {version}) {message}")
                    continue
                try:
                    kubernetes_validate.validate(document, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    path = ".".join(str(p) for p in error.path) or "(root)"
                    self.problem(where, f"(Kubernetes {version}, strict) {path}: {error.message}")
                except kubernetes_validate.SchemaNotFoundError as error:
                    self.problem(where, f"no schema for this kind: {error.message} (a typo? a CRD whose "
                                        "schema belongs in schemas/ and KEDA_CRDS?)")

    # What no schema says.
    def check_references(self):
        configmaps = {d["metadata"]["name"]: d.get("data") or {} for _, d in self.of_kind("ConfigMap")
                      if isinstance(d.get("metadata"), dict)}
        secret_name, secret_keys = self.secret()
        prefix = "newspipe"
        for data in configmaps.values():
            prefix = data.get("NEWSPIPE__BROKER__PREFIX", prefix)
        routing_keys = topology_routing_keys()
        scaler = json.load(open(os.path.join(HERE, "schemas", "keda-rabbitmq-scaler.json")))

        deployments = {}
        for name, document in self.of_kind("Deployment"):
            where = self.label(name, document)
            deployments[document["metadata"]["name"]] = document
            self.check_deployment(where, document, configmaps, secret_name, secret_keys)

        authentications = {}
        for name, document in self.of_kind("TriggerAuthentication"):
            where = self.label(name, document)
            authentications[document["metadata"]["name"]] = document
            for ref in (document.get("spec") or {}).get("secretTargetRef") or []:
                if ref.get("parameter") not in scaler["authParams"]:
                    self.problem(where, f"secretTargetRef parameter {ref.get('parameter')!r} is none of the "
                                        f"rabbitmq scaler's: {scaler['authParams']}")
                if ref.get("name") != secret_name:
                    self.problem(where, f"secretTargetRef names Secret {ref.get('name')!r}; the Secret here "
                                        f"is {secret_name!r}")
                elif ref.get("key") not in secret_keys:
                    self.problem(where, f"secretTargetRef key {ref.get('key')!r} is not in "
                                        f"secret.env.example ({sorted(secret_keys)})")

        scaled = set()
        for name, document in self.of_kind("ScaledObject"):
            where = self.label(name, document)
            spec = document.get("spec") or {}
            target_ref = spec.get("scaleTargetRef") or {}
            target = deployments.get(target_ref.get("name"))
            if target_ref.get("kind", "Deployment") != "Deployment" or target is None:
                self.problem(where, f"scaleTargetRef {target_ref!r} is no Deployment here ({sorted(deployments)})")
            else:
                scaled.add(target_ref["name"])
                if "replicas" in target["spec"]:
                    self.problem(where, f"Deployment {target_ref['name']} sets replicas: KEDA owns the count "
                                        "(every apply would reset it)")
            binary = None
            if target is not None:
                command = target["spec"]["template"]["spec"]["containers"][0].get("command") or [None]
                binary = command[0]
            for index, trigger in enumerate(spec.get("triggers") or []):
                at = f"{where} triggers[{index}]"
                if trigger.get("type") != "rabbitmq":
                    self.problem(at, f"type {trigger.get('type')!r}: only rabbitmq triggers are checked here")
                    continue
                self.check_rabbitmq_metadata(at, trigger.get("metadata") or {}, scaler)
                auth = trigger.get("authenticationRef") or {}
                if auth.get("kind", "TriggerAuthentication") != "TriggerAuthentication" \
                        or auth.get("name") not in authentications:
                    self.problem(at, f"authenticationRef {auth!r} is no TriggerAuthentication here "
                                     f"({sorted(authentications)})")
                queue = (trigger.get("metadata") or {}).get("queueName")
                if binary in WORKER_QUEUES:
                    key = WORKER_QUEUES[binary]
                    if key not in routing_keys:
                        self.problem(at, f"crates/broker/src/topology.rs has no queue {key!r} ({routing_keys})")
                    elif queue != f"{prefix}.{key}":
                        self.problem(at, f"queueName {queue!r}: {binary} consumes {prefix}.{key} (prefix "
                                         f"{prefix!r} from the ConfigMap, {key!r} from topology.rs)")
                elif target is not None:
                    self.problem(at, f"{target_ref.get('name')} runs {binary!r}, which consumes no known queue")
        for name, document in deployments.items():
            command = document["spec"]["template"]["spec"]["containers"][0].get("command") or [None]
            if command[0] in WORKER_QUEUES and name not in scaled:
                self.problem(f"Deployment/{name}", "a worker without a ScaledObject")

    def check_rabbitmq_metadata(self, where, metadata, scaler):
        allowed = set(scaler["triggerMetadata"]) | {f"{k}FromEnv" for k in scaler["resolvedEnv"]}
        for key, value in metadata.items():
            if key not in allowed:
                self.problem(where, f"metadata {key!r} is not a parameter of KEDA's rabbitmq scaler "
                                    f"({sorted(allowed)})")
            elif key in scaler["enums"] and value not in scaler["enums"][key]:
                self.problem(where, f"metadata {key} {value!r} is none of {scaler['enums'][key]}")
            elif key in scaler["numbers"] and not re.fullmatch(r"[0-9]+(\.[0-9]+)?", str(value)):
                self.problem(where, f"metadata {key} {value!r} is not a number")
            elif key in scaler["booleans"] and value not in GO_BOOLEANS:
                self.problem(where, f"metadata {key} {value!r} is not a boolean")
        for key in scaler["required"]:
            if key not in metadata:
                self.problem(where, f"metadata has no {key}")
        # newspipe's own rules: the management API's count (ready and unacknowledged: a WARC file being read
        # holds its message), by queue length, with a target.
        if metadata.get("protocol") != "http":
            self.problem(where, "protocol must be http: AMQP counts only ready messages, so a reader busy with "
                                "its file (unacknowledged) would be scaled away")
        if metadata.get("mode") != "QueueLength" or "value" not in metadata:
            self.problem(where, "mode QueueLength with a value (messages per replica) expected")

    def check_deployment(self, where, document, configmaps, secret_name, secret_keys):
        spec = document.get("spec") or {}
        template = spec.get("template") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            self.problem(where, f"selector {selector} does not match the pod labels {labels}")
        pod = template.get("spec") or {}
        pod_security = pod.get("securityContext") or {}
        if pod.get("automountServiceAccountToken") is not False:
            self.problem(where, "automountServiceAccountToken: false expected (nothing here calls the API server)")
        for container in pod.get("containers") or []:
            at = f"{where} container {container.get('name')}"
            security = container.get("securityContext") or {}
            if security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is not True:
                self.problem(at, "runAsNonRoot: true expected")
            if not isinstance(security.get("runAsUser", pod_security.get("runAsUser")), int):
                self.problem(at, "a numeric runAsUser expected (the image names its user; the kubelet cannot "
                                 "check a name is not root)")
            if security.get("readOnlyRootFilesystem") is not True:
                self.problem(at, "readOnlyRootFilesystem: true expected")
            if security.get("allowPrivilegeEscalation") is not False:
                self.problem(at, "allowPrivilegeEscalation: false expected")
            if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
                self.problem(at, "capabilities: drop: [ALL] expected")
            seccomp = (security.get("seccompProfile") or pod_security.get("seccompProfile") or {}).get("type")
            command = container.get("command") or []
            sandboxed = not any(v.get("name") == "NEWSPIPE__RENDERER__SANDBOX" and v.get("value") == "false"
                                for v in container.get("env") or [])
            if command[:1] == ["newspipe-renderer"] and sandboxed:
                # Chromium's own sandbox needs user namespaces, which RuntimeDefault allows only with
                # CAP_SYS_ADMIN (docs/rendering.md): Unconfined is the one exception, for it alone.
                if seccomp not in ("RuntimeDefault", "Unconfined"):
                    self.problem(at, "seccompProfile Unconfined (Chromium's sandbox) or RuntimeDefault expected")
            elif seccomp != "RuntimeDefault":
                self.problem(at, "seccompProfile RuntimeDefault expected")
            resources = container.get("resources") or {}
            for bound in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (resources.get(bound) or {}):
                        self.problem(at, f"resources.{bound}.{resource} missing")
            image = container.get("image", "")
            if image != "newspipe":
                self.problem(at, f"image {image!r}: the image is `newspipe`, set in kustomization.yaml's images")
            ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
            for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = container.get(probe_name)
                http = (probe or {}).get("httpGet") or {}
                if http.get("path") != "/healthz":
                    self.problem(at, f"{probe_name}: an httpGet of /healthz expected")
                elif http.get("port") not in ports and http.get("port") not in ports.values():
                    self.problem(at, f"{probe_name}: port {http.get('port')!r} is not one of the container's "
                                     f"ports {ports}")
            command = container.get("command") or []
            if command and command[0] in WORKER_QUEUES:
                metrics_port = None
                for ref in container.get("envFrom") or []:
                    name = (ref.get("configMapRef") or {}).get("name")
                    metrics_port = (configmaps.get(name) or {}).get("NEWSPIPE__METRICS__PORT", metrics_port)
                if ports.get("ops") is None or str(ports.get("ops")) != str(metrics_port):
                    self.problem(at, f"the ops port {ports.get('ops')!r} is not NEWSPIPE__METRICS__PORT "
                                     f"{metrics_port!r} of the ConfigMap")
            for ref in container.get("envFrom") or []:
                if "configMapRef" in ref and ref["configMapRef"].get("name") not in configmaps:
                    self.problem(at, f"envFrom ConfigMap {ref['configMapRef'].get('name')!r} is not here")
                if "secretRef" in ref and ref["secretRef"].get("name") != secret_name:
                    self.problem(at, f"envFrom Secret {ref['secretRef'].get('name')!r} is not {secret_name!r}")
            for variable in container.get("env") or []:
                source = variable.get("valueFrom") or {}
                if "secretKeyRef" in source:
                    ref = source["secretKeyRef"]
                    if ref.get("name") != secret_name:
                        self.problem(at, f"env {variable.get('name')}: Secret {ref.get('name')!r} is not "
                                         f"{secret_name!r}")
                    elif ref.get("key") not in secret_keys:
                        self.problem(at, f"env {variable.get('name')}: key {ref.get('key')!r} is not in "
                                         f"secret.env.example ({sorted(secret_keys)})")
                if "configMapKeyRef" in source:
                    ref = source["configMapKeyRef"]
                    if ref.get("key") not in configmaps.get(ref.get("name"), {}):
                        self.problem(at, f"env {variable.get('name')}: no key {ref.get('key')!r} in ConfigMap "
                                         f"{ref.get('name')!r}")

    def secret(self):
        """The name of the Secret kustomization.yaml generates and the keys secret.env.example gives it."""
        kustomization = self.kustomization()
        generators = kustomization.get("secretGenerator") or []
        if len(generators) != 1:
            self.problem("kustomization.yaml", "one secretGenerator (the Secret `newspipe`) expected")
            return None, set()
        keys = set()
        example = os.path.join(self.directory, "secret.env.example")
        if not os.path.exists(example):
            self.problem("secret.env.example", "missing")
        else:
            for number, line in enumerate(open(example), 1):
                line = line.strip()
                if line and not line.startswith("#"):
                    if "=" not in line:
                        self.problem(f"secret.env.example:{number}", "not KEY=VALUE")
                    keys.add(line.split("=", 1)[0])
        if generators[0].get("envs") != ["secret.env"]:
            self.problem("kustomization.yaml", "the secretGenerator should read envs: [secret.env]")
        ignore = os.path.join(self.directory, ".gitignore")
        if not os.path.exists(ignore) or "secret.env" not in open(ignore).read().split():
            self.problem(".gitignore", "secret.env (the real credentials) must be ignored by git")
        return generators[0].get("name"), keys

    @functools.lru_cache(maxsize=None)
    def kustomization(self):
        path = os.path.join(self.directory, "kustomization.yaml")
        try:
            (document,) = load_documents(path)
        except (OSError, ValueError, yaml.YAMLError) as error:
            self.problem("kustomization.yaml", f"cannot be read as one YAML document: {error}")
            return {}
        return document if isinstance(document, dict) else {}

    def check_kustomization(self):
        kustomization = self.kustomization()
        if not kustomization:
            return
        where = "kustomization.yaml"
        if kustomization.get("apiVersion") != "kustomize.config.k8s.io/v1beta1" \
                or kustomization.get("kind") != "Kustomization":
            self.problem(where, "apiVersion kustomize.config.k8s.io/v1beta1, kind Kustomization expected")
        for key in sorted(set(kustomization) - KUSTOMIZATION_KEYS):
            self.problem(where, f"unexpected key {key!r} (allowed here: {sorted(KUSTOMIZATION_KEYS)})")
        resources = kustomization.get("resources") or []
        manifests = sorted({name for name, _ in self.documents})
        for resource in resources:
            if not os.path.exists(os.path.join(self.directory, resource)):
                self.problem(where, f"resource {resource!r} does not exist")
        for name in manifests:
            if name not in resources:
                self.problem(where, f"{name} is not in resources: `kubectl apply -k` would leave it out")
        if len(resources) != len(set(resources)):
            self.problem(where, "a resource listed twice")
        images = {image.get("name") for image in kustomization.get("images") or []}
        if "newspipe" not in images:
            self.problem(where, "images: an entry for `newspipe` (the registry and tag to run) expected")
        namespaces = [d["metadata"]["name"] for _, d in self.of_kind("Namespace")]
        if kustomization.get("namespace") not in namespaces:
            self.problem(where, f"namespace {kustomization.get('namespace')!r} is not the Namespace here "
                                f"({namespaces})")
        seen = {}
        for name, document in self.documents:
            if isinstance(document, dict) and isinstance(document.get("metadata"), dict):
                key = (document.get("kind"), document["metadata"].get("name"))
                if key in seen:
                    self.problem(name, f"{key[0]}/{key[1]} also in {seen[key]}")
                seen[key] = name


def topology_routing_keys():
    """The work queues' routing keys, from `fn routing_key` in crates/broker/src/topology.rs."""
    text = open(TOPOLOGY).read()
    body = re.search(r"fn routing_key\(self\)[^{]*\{(.*?)\n    \}", text, re.S)
    if not body:
        raise SystemExit(f"validate.py: no `fn routing_key` in {TOPOLOGY}")
    return sorted(re.findall(r'Queue::\w+\s*=>\s*"([^"]+)"', body.group(1)))


def validate(directory, versions):
    manifests = Manifests(directory)
    manifests.load()
    manifests.check_schemas(versions)
    if not manifests.problems:  # the cross checks assume documents their schemas accept
        manifests.check_references()
    manifests.check_kustomization()
    return manifests


# ------------------------------------------------------------------------------------------ self-test ---
# Broken copies of the manifests: (what is broken, file, text to replace (exactly once), replacement). Each
# must fail validation; the unbroken copy must pass. A text not found once fails the self-test too, so an
# edit of the manifests cannot make a mutation silently miss.
MUTATIONS = [
    ("a typo in a field name (Kubernetes, strict)", "fetcher.yaml",
     "          imagePullPolicy: IfNotPresent\n", "          imagePullPolicey: IfNotPresent\n"),
    ("a wrong type (Kubernetes)", "extractor.yaml",
     "              containerPort: 9100\n", "              containerPort: \"9100\"\n"),
    ("a wrong type in the Service (Kubernetes)", "api.yaml",
     "      port: 80\n", "      port: [80]\n"),
    ("a ScaledObject without scaleTargetRef (KEDA CRD: required)", "fetcher.yaml",
     "  scaleTargetRef:\n    name: newspipe-fetcher\n", ""),
    ("an unknown trigger field (KEDA CRD: additionalProperties)", "store.yaml",
     "      authenticationRef:\n", "      authRef:\n"),
    ("an unknown ScaledObject field (KEDA CRD)", "extractor.yaml",
     "  maxReplicaCount: 16\n", "  maxReplicas: 16\n"),
    ("a wrong type in a ScaledObject (KEDA CRD)", "store.yaml",
     "  minReplicaCount: 1\n", "  minReplicaCount: \"1\"\n"),
    ("a wrong type deep in a ScaledObject (KEDA CRD: HPA behavior)", "fetcher.yaml",
     "          stabilizationWindowSeconds: 300\n", "          stabilizationWindowSeconds: five minutes\n"),
    ("minReplicaCount above maxReplicaCount (KEDA CRD: CEL rule)", "warc-reader.yaml",
     "  minReplicaCount: 0\n", "  minReplicaCount: 9\n"),
    ("a typo in a ScaledObject's metadata (ObjectMeta)", "warc-reader.yaml",
     "kind: ScaledObject\nmetadata:\n  name:", "kind: ScaledObject\nmetadata:\n  nmae:"),
    ("an unknown TriggerAuthentication field (KEDA CRD)", "keda.yaml",
     "  secretTargetRef:\n", "  secretTargetRefs:\n"),
    ("an unknown trigger metadata key (rabbitmq scaler)", "fetcher.yaml",
     "        queueName: newspipe.fetch\n", "        queueNmae: newspipe.fetch\n"),
    ("an unknown rabbitmq mode (rabbitmq scaler)", "store.yaml",
     "        mode: QueueLength\n", "        mode: QueueLenght\n"),
    ("a trigger value that is not a number (rabbitmq scaler)", "extractor.yaml",
     "        value: \"200\"\n", "        value: \"two hundred\"\n"),
    ("the AMQP protocol, which counts ready messages only", "warc-reader.yaml",
     "        protocol: http\n", "        protocol: amqp\n"),
    ("another worker's queue", "extractor.yaml",
     "        queueName: newspipe.extract\n", "        queueName: newspipe.store\n"),
    ("a queue that does not exist", "warc-reader.yaml",
     "        queueName: newspipe.warc\n", "        queueName: newspipe.warcs\n"),
    ("a TriggerAuthentication that does not exist", "fetcher.yaml",
     "        name: newspipe-rabbitmq\n", "        name: newspipe-rabbit\n"),
    ("an unknown kind", "namespace.yaml", "kind: Namespace\n", "kind: Namespaec\n"),
    ("a key the Secret does not have", "store.yaml",
     "                  key: DATABASE_URL\n", "                  key: DATABSE_URL\n"),
    ("a writable root file system", "api.yaml",
     "            readOnlyRootFilesystem: true\n", "            readOnlyRootFilesystem: false\n"),
    ("capabilities kept", "extractor.yaml", "              drop: [\"ALL\"]\n", "              drop: []\n"),
    ("no memory limit", "store.yaml", "              memory: 128Mi\n", ""),
    ("a probe on a port the container does not have", "warc-reader.yaml",
     "          livenessProbe:\n            httpGet:\n              path: /healthz\n              port: ops\n",
     "          livenessProbe:\n            httpGet:\n              path: /healthz\n              port: metrics\n"),
    ("a selector that does not match the pods", "api.yaml",
     "  selector:\n    matchLabels:\n      app.kubernetes.io/name: newspipe\n      app.kubernetes.io/component: api\n",
     "  selector:\n    matchLabels:\n      app.kubernetes.io/name: newspipe\n      app.kubernetes.io/component: web\n"),
    ("a key given twice", "configmap.yaml",
     "  NEWSPIPE__LOG__FORMAT: json\n", "  NEWSPIPE__LOG__FORMAT: json\n  NEWSPIPE__LOG__FORMAT: text\n"),
    ("a manifest missing from kustomization.yaml", "kustomization.yaml", "  - api.yaml\n", ""),
    ("a prefix the ScaledObjects do not use", "configmap.yaml",
     "  NEWSPIPE__BROKER__PREFIX: newspipe\n", "  NEWSPIPE__BROKER__PREFIX: news\n"),
    ("an unconfined seccomp profile on a worker that is not the renderer", "extractor.yaml",
     "          type: RuntimeDefault\n", "          type: Unconfined\n"),
    ("an unconfined renderer without Chromium's sandbox", "renderer.yaml",
     "            - name: TMPDIR\n", "            - name: NEWSPIPE__RENDERER__SANDBOX\n              value: \"false\"\n            - name: TMPDIR\n"),
    ("the renderer scaled on another queue", "renderer.yaml",
     "        queueName: newspipe.render\n", "        queueName: newspipe.extract\n"),
]


def self_test(directory, versions):
    failures = []
    with tempfile.TemporaryDirectory(prefix="newspipe-k8s-self-test-") as scratch:
        pristine = os.path.join(scratch, "pristine")
        shutil.copytree(directory, pristine)
        baseline = validate(pristine, versions).problems
        if baseline:
            failures.append("the unbroken copy does not pass:\n    " + "\n    ".join(baseline))
        for number, (what, name, old, new) in enumerate(MUTATIONS):
            copy_dir = os.path.join(scratch, f"mutation-{number}")
            shutil.copytree(pristine, copy_dir)
            path = os.path.join(copy_dir, name)
            text = open(path).read()
            if text.count(old) != 1:
                failures.append(f"{what}: the text to break is in {name} {text.count(old)} times, not once: "
                                f"{old!r} (update MUTATIONS)")
                continue
            open(path, "w").write(text.replace(old, new))
            problems = validate(copy_dir, versions).problems
            if problems:
                print(f"  fails as it should: {what} ({name}): {problems[0]}")
            else:
                failures.append(f"{what} ({name}): PASSED validation, but must fail")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", default=HERE)
    parser.add_argument("--self-test", action="store_true",
                        help="validate broken copies of DIRECTORY (each must fail) instead")
    arguments = parser.parse_args()
    versions = KUBERNETES_VERSIONS
    for version in versions:
        bundled_version(version)  # exits, saying so, if kubernetes-validate has no schemas for it
    print(f"kubernetes-validate {kubernetes_validate.__version__}, Kubernetes {', '.join(versions)}, "
          f"KEDA CRDs from {os.path.join(HERE, 'schemas')} (schemas/README.md)")
    if arguments.self_test:
        failures = self_test(arguments.directory, versions)
        if failures:
            print("self-test FAILED:\n  " + "\n  ".join(failures))
            return 1
        print(f"self-test passed: the manifests pass, and each of {len(MUTATIONS)} broken copies fails")
        return 0
    manifests = validate(arguments.directory, versions)
    if manifests.problems:
        print("INVALID:\n  " + "\n  ".join(manifests.problems))
        return 1
    kinds = sorted({f"{d['kind']}" for _, d in manifests.documents})
    print(f"valid: {len(manifests.documents)} documents in {len({f for f, _ in manifests.documents})} files "
          f"({', '.join(kinds)}), and kustomization.yaml lists every file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
