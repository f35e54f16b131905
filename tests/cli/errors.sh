#!/usr/bin/env bash
# Malformed input of every kind: `eppsim` exits 2, prints the message that
# docs/errors.md lists for the case, and leaves no output behind (neither the
# output directory nor a temporary one).
#
#   tests/cli/errors.sh EPPSIM            run the cases (CTest cli_errors)
#   tests/cli/errors.sh EPPSIM --doc      print the markdown rows of docs/errors.md
set -uo pipefail
EPPSIM=$(realpath "$1")
MODE=${2:-test}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/eppsim-cli-errors-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
cp "$SRC/examples/prefix-heavy.yaml" base.yaml
fails=0; n=0; kind=""

section() {
  kind=$1
  [ "$MODE" = --doc ] && printf '\n### %s\n\n| case | input | message (exit code 2) |\n|---|---|---|\n' "$1"
}

# put FILE CONTENT: writes an input file (printf %b, so \n and \xNN work)
put() { printf '%b' "$2" > "$1"; }

# case NAME CMD...: runs CMD in $W; the input files were written with put
case_() {
  local name=$1; shift
  n=$((n + 1))
  rm -rf "$W"/out* "$W"/sw*
  "$@" >"$W/.stdout" 2>"$W/.stderr"
  local rc=$? msg
  msg=$(grep -v '^eppsim: running\|^$\|warning:' "$W/.stderr" | tail -1)
  if [ "$MODE" = --doc ]; then
    local input; input=$(cat "$W/.input" 2>/dev/null | head -c 300 | sed 's/|/\\|/g' | awk 'BEGIN{ORS="<br>"}{print}' | sed 's/<br>$//')
    printf '| %s | `%s` | `%s` |\n' "$name" "$input" "$msg"
    return
  fi
  local bad=""
  [ $rc -eq 2 ] || bad="exit code $rc, expected 2"
  [ -z "$msg" ] && bad="$bad; no message"
  if ls -d "$W"/out* "$W"/sw* >/dev/null 2>&1; then bad="$bad; left $(ls -d "$W"/out* "$W"/sw* | tr '\n' ' ')"; fi
  if [ -n "$msg" ] && ! grep -qF -- "\`$msg\`" "$SRC/docs/errors.md"; then bad="$bad; message not in docs/errors.md: $msg"; fi
  if grep -q 'AddressSanitizer\|runtime error\|LeakSanitizer' "$W/.stderr"; then bad="$bad; sanitizer report"; cat "$W/.stderr"; fi
  if [ -n "$bad" ]; then echo "FAIL [$kind] $name: $bad"; fails=$((fails + 1)); else echo "ok   [$kind] $name"; fi
}

# input FILE CONTENT: writes the file the case reads (shown in the docs)
input() { put "$1" "$2"; printf '%b' "$2" > "$W/.input"; }

RUN=("$EPPSIM" run -q --no-plots -o out)
flags() { printf '%s' "$*" > "$W/.input"; }

section "Experiment files (eppsim run EXP)"
input a.yaml 'server: {gpu: h100-sxm-80gb\n';            case_ "YAML syntax error" "${RUN[@]}" a.yaml
input a.yaml 'servr: {}\n';                               case_ "unknown key" "${RUN[@]}" a.yaml
input a.yaml '[1, 2]\n';                                  case_ "not a mapping" "${RUN[@]}" a.yaml
input a.yaml 'seed: 1\nseed: 2\n';                        case_ "duplicate key" "${RUN[@]}" a.yaml
input a.yaml 'seed: -1\n';                                case_ "negative seed" "${RUN[@]}" a.yaml
input a.yaml 'duration_s: "10"\n';                        case_ "quoted number" "${RUN[@]}" a.yaml
input a.yaml 'workload: {num_requests: 1e30}\n';          case_ "integer key given a float" "${RUN[@]}" a.yaml
input a.yaml 'cluster: {replicas: 0}\n';                  case_ "out of range" "${RUN[@]}" a.yaml
input a.yaml 'server: {gpu: tpu9}\n';                     case_ "unknown GPU" "${RUN[@]}" a.yaml
input a.yaml 'schema_version: 2\n';                       case_ "unsupported schema version" "${RUN[@]}" a.yaml
input a.yaml 'gateway: {failure_mode: FailSometimes}\n';  case_ "unknown enum value" "${RUN[@]}" a.yaml
input a.yaml '&k name: x\nseed: *k\n';                    case_ "alias of an anchored key" "${RUN[@]}" a.yaml
input a.yaml 'a: {b: {c: {d: {e: {f: {g: {h: {i: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n'
case_ "nesting too deep" "${RUN[@]}" a.yaml
rm -f .input; case_ "missing file" "${RUN[@]}" nothere.yaml
input a.yaml 'seed: 1\n'; mkdir -p existing; case_ "output directory exists" "$EPPSIM" run -q --no-plots -o existing a.yaml; rm -rf existing
input a.yaml 'seed: 1\n'; case_ "bad --seed" "${RUN[@]}" --seed 12x a.yaml

section "EndpointPickerConfig (epp.config_file, explain --epp-config)"
put a.yaml 'epp: {config_file: epp.yaml}\n'
input epp.yaml 'plugins:\n- type: queue-scorer\n';                                       case_ "missing apiVersion" "${RUN[@]}" a.yaml
input epp.yaml 'apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: Foo\n';          case_ "wrong kind" "${RUN[@]}" a.yaml
H='apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n'
input epp.yaml "${H}plugins:\n- type: no-such-scorer\n";                                 case_ "unknown plugin type" "${RUN[@]}" a.yaml
input epp.yaml "${H}plugins:\n- type: approx-prefix-cache-producer\n  parameters: {blockSize: -3}\n"; case_ "bad plugin parameter" "${RUN[@]}" a.yaml
input epp.yaml "${H}plugins:\n- type: queue-scorer\nschedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: missing\n"
case_ "pluginRef to an undeclared plugin" "${RUN[@]}" a.yaml
input epp.yaml "${H}plugins:\n- type: queue-scorer\n- type: queue-scorer\n";            case_ "duplicate plugin name" "${RUN[@]}" a.yaml
input epp.yaml "${H}featureGates: [noSuchGate]\n";                                       case_ "unknown feature gate" "${RUN[@]}" a.yaml
input epp.yaml "${H}plugins: {a: 1}\n";                                                  case_ "plugins not a list" "${RUN[@]}" a.yaml
input epp.yaml "${H}plugins:\n- type: queue-scorer\ndataLayer: {crossReplicaSyncerPluginRef: queue-scorer}\n"
case_ "crossReplicaSyncerPluginRef names no syncer" "${RUN[@]}" a.yaml
rm -f .input; put a.yaml 'epp: {config_file: nothere.yaml}\n';                           case_ "missing file" "${RUN[@]}" a.yaml

section "Kubernetes manifests (eppsim run --manifest FILE)"
MAN=("$EPPSIM" run -q --no-plots -o out --manifest m.yaml)
input m.yaml 'kind: InferencePool\n';                       case_ "no apiVersion" "${MAN[@]}"
input m.yaml '---\na: [\n';                                  case_ "YAML syntax error in a later document" "${MAN[@]}"
input m.yaml 'apiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata: {name: p}\nspec: {selector: {matchLabels: {app: x}}, targetPorts: [{number: 8000}], endpointPickerRef: {name: epp}}\n'
case_ "EPP reference without a port" "${MAN[@]}"
input m.yaml 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 2}\n'; case_ "Deployment without a template" "${MAN[@]}"
input m.yaml 'apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n';                     case_ "no InferencePool" "${MAN[@]}"
input m.yaml 'apiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata: {name: p}\nspec: {selector: {matchLabels: {app: x}}, targetPorts: [{number: 8000}], endpointPickerRef: {name: epp, port: {number: 9002}}, extra: 1}\n'
case_ "unknown field in a used kind" "${MAN[@]}"
cp "$SRC/tests/data/manifests/bad-epp-config.yaml" m.yaml; printf '(tests/data/manifests/bad-epp-config.yaml)' > .input
case_ "bad EndpointPickerConfig in the ConfigMap" "${MAN[@]}"
P='apiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata: {name: p}\nspec: {selector: {matchLabels: {app: x}}, targetPorts: [{number: 8000}], endpointPickerRef: {name: epp, port: {number: 9002}}}\n---\n'
D='apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n    spec:\n      containers:\n      - name: vllm\n        image: vllm/vllm-openai:v0.11.0\n'
input m.yaml "${P}${D}        args: [\"--block-size\", \"17\"]\n";   case_ "vLLM container: block size vLLM does not offer" "${MAN[@]}"
input m.yaml "${P}${D}        args: [\"--dtype=fp4\"]\n";   case_ "vLLM container: --dtype vLLM does not offer" "${MAN[@]}"
input m.yaml "${P}${D}        args: [\"--kv-cache-dtype\", \"fp9\"]\n";   case_ "vLLM container: --kv-cache-dtype vLLM does not offer" "${MAN[@]}"
sed 's/^        app: llama$/        app: llama\n        topology.kubernetes.io\/zone: '"$(printf 'z%.0s' {1..64})"'/' "$SRC/tests/data/manifests/vllm-pool.yaml" > m.yaml
printf '(tests/data/manifests/vllm-pool.yaml with a 64-character zone label on the decode pods)' > .input;  case_ "pod template label value too long" "${MAN[@]}"
sed 's/^      containers:$/      hostname: Decode_Host\n      containers:/' "$SRC/tests/data/manifests/vllm-pool.yaml" > m.yaml
printf '(tests/data/manifests/vllm-pool.yaml with hostname: Decode_Host in the pod templates)' > .input;  case_ "pod template hostname not a DNS label" "${MAN[@]}"
input a.yaml 'cluster: {pod_hostnames: [host-a, -b]}\n'; case_ "cluster.pod_hostnames entry not a DNS label" "${RUN[@]}" a.yaml

section "Traces (workload.trace.file, eppsim trace stats)"
J='{"timestamp": 0, "input_length": 600, "output_length": 5, "hash_ids": [0, 1]}\n'
input t.jsonl "${J}"'{"timestamp": 10, "input_length": "x"}\n'
put a.yaml 'workload: {type: trace, trace: {file: t.jsonl, format: mooncake}}\n'; case_ "mooncake: a string token count (line 2, mid-run)" "${RUN[@]}" a.yaml
input t.jsonl "${J}"'{"timestamp": 20, "input_length": 700, "output_length": 6, "hash_ids": [0, 2}\n'; case_ "mooncake: unclosed list" "${RUN[@]}" a.yaml
input t.jsonl "${J}"'{"timestamp": 5, "input_length": 700, "output_length": 6, "hash_ids": [0, 1], "extra": {"a": [1, {"b": 2}]}}\n{"timestamp": -5, "input_length": 7, "output_length": 6, "hash_ids": []}\n'; case_ "mooncake: negative timestamp" "${RUN[@]}" a.yaml
input t.jsonl "${J}"; put a.yaml 'workload: {type: trace, trace: {file: t.jsonl, format: azure}}\n'; case_ "wrong format named" "${RUN[@]}" a.yaml
put a.yaml 'workload: {type: trace, trace: {file: t.csv}}\n'
input t.csv 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-13-16 18:15:50.9951690,396,109\n'; case_ "azure: month 13" "${RUN[@]}" a.yaml
input t.csv 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,-396,109\n'; case_ "azure: negative token count" "${RUN[@]}" a.yaml
input t.csv 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\nabc,ChatGPT,1,1,2,Conversation log\n'; case_ "burstgpt: bad timestamp" "${RUN[@]}" a.yaml
input t.csv 'num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n74,918,992,0.08\n74\n'; case_ "sharegpt: missing column" "${RUN[@]}" a.yaml
input t.csv 'hello,world\n1,2\n';                         case_ "undetectable format" "${RUN[@]}" a.yaml
put a.yaml 'workload: {type: trace, trace: {file: t.jsonl}}\n'
input t.jsonl '{"arrival_ms": 0, "segments": [[7, 1000]], "output_tokens": 20}\n{"arrival_ms": 1, "segments": [[7]], "output_tokens": 2}\n'; case_ "eppsim: segment without a length" "${RUN[@]}" a.yaml
rm -f .input; put a.yaml 'workload: {type: trace, trace: {file: nothere.jsonl}}\n'; case_ "missing file" "${RUN[@]}" a.yaml
mkdir -p tdir; rm -f .input; flags eppsim trace stats tdir; case_ "trace stats on a directory" "$EPPSIM" trace stats tdir

section "Explain state files (eppsim explain --state FILE)"
EXP=("$EPPSIM" explain --state s.json)
input s.json '{"endpoints": [';                                                  case_ "JSON syntax error" "${EXP[@]}"
input s.json '{"endpoints": []}';                                               case_ "no request" "${EXP[@]}"
input s.json '{"endpoints": [{"name": "a"}], "request": {}, "extra": 1}';       case_ "unknown key" "${EXP[@]}"
input s.json '{"endpoints": [{"name": "a", "metrics": {"kv_cache_usage": 2}}], "request": {}}'; case_ "KV usage above 1" "${EXP[@]}"
input s.json '{"endpoints": [{"name": "a"}, {"name": "a"}], "request": {}}';   case_ "duplicate endpoint" "${EXP[@]}"
input s.json '{"endpoints": [{"name": "a"}], "history": [{"endpoint": "b"}], "request": {}}'; case_ "history names an unknown endpoint" "${EXP[@]}"
input s.json '{"endpoints": [{"name": "a"}], "request": {"priority": 1.5}}';   case_ "fractional priority" "${EXP[@]}"
input s.json '{"endpoints": [{"address": "x"}], "request": {}}';               case_ "endpoint without a name" "${EXP[@]}"
input s.json '{"endpoints": [{"name": "a"}], "request": {}, "arrival": {"queued": []}}'; case_ "queues to replay without flow control" "${EXP[@]}"

if "$EPPSIM" sweep --help >/dev/null 2>&1; then
section "Sweep specs (eppsim sweep SPEC)"
SW=("$EPPSIM" sweep -q -o sw s.yaml)
input s.yaml 'base: base.yaml\ngrid: {cluster.replicas: [0, 2]}\n';        case_ "a point does not validate" "${SW[@]}"
input s.yaml 'base: nothere.yaml\ngrid: {cluster.replicas: [1, 2]}\n';     case_ "missing base" "${SW[@]}"
input s.yaml 'base: base.yaml\ngrid: {cluster.replicas: 3}\n';             case_ "grid value not a list" "${SW[@]}"
input s.yaml 'base: base.yaml\ngrid: {cluster.replicas: [1]}\npoints: []\n'; case_ "grid and points" "${SW[@]}"
input s.yaml 'base: base.yaml\ngrid: {cluster.replicas: [1]}\nseeds: 0\n'; case_ "no seeds" "${SW[@]}"
input s.yaml 'base: base.yaml\ngrid: {epp.weights.nosuch: [1]}\n';         case_ "weight of an unknown plugin" "${SW[@]}"
input s.yaml 'base: base.yaml\ngrid: {servr.gpu: [h200-sxm]}\n';           case_ "unknown key path" "${SW[@]}"
fi

section "Run names and output paths (issue 19)"
DEF=("$EPPSIM" run -q --no-plots)
input a.yaml 'name: ../x\n';                    case_ "name climbs out of out/" "${DEF[@]}" a.yaml
input a.yaml 'name: a/b\n';                     case_ "name with a slash" "${DEF[@]}" a.yaml
input a.yaml 'name: ""\n';                      case_ "empty name" "${DEF[@]}" a.yaml
input a.yaml 'name: ..\n';                      case_ "name is .." "${DEF[@]}" a.yaml
input a.yaml 'name: "a\\nb"\n';                 case_ "name with a newline" "${DEF[@]}" a.yaml
input a.yaml "name: $(printf 'n%.0s' $(seq 300))\n"; case_ "name of 300 bytes" "${DEF[@]}" a.yaml
input a.yaml 'seed: 1\n'; LONG=out/$(printf 'd%.0s' $(seq 1200)); flags eppsim run -o "out/ddd...(1204 bytes)"
case_ "--out longer than 960 bytes" "$EPPSIM" run -q --no-plots -o "$LONG" a.yaml
put s.yaml 'base: base.yaml\ngrid: {cluster.replicas: [1]}\n'; flags eppsim sweep -o "out/ddd...(1204 bytes)" s.yaml
case_ "sweep --out longer than 920 bytes" "$EPPSIM" sweep -q -o "$LONG" s.yaml

section "Values in range that used to abort or overflow (issue 19)"
input a.yaml 'server: {num_gpu_blocks: 1}\n';                               case_ "one KV block" "${RUN[@]}" a.yaml
input a.yaml 'cluster: {faults: [{at_s: 1e11, kind: pod_crash, pod: 0}]}\n'; case_ "fault at 1e11 s" "${RUN[@]}" a.yaml
input a.yaml 'cluster: {scaling: [{at_s: 1e11, replicas: 5}]}\n';           case_ "scaling at 1e11 s" "${RUN[@]}" a.yaml
input a.yaml 'cluster: {replicas: 20000}\n';                                case_ "20 000 pods" "${RUN[@]}" a.yaml
input a.yaml 'duration_s: 1e11\n';                                          case_ "duration 1e11 s" "${RUN[@]}" a.yaml
input a.yaml 'results: {warmup_s: 1e12}\n';                                 case_ "warm-up 1e12 s" "${RUN[@]}" a.yaml
input a.yaml 'workload: {arrival: {rate: 1e-300}}\n';                       case_ "rate 1e-300" "${RUN[@]}" a.yaml
input a.yaml 'workload: {arrival: {stages: [{rate: 1, duration_s: 6e8}, {rate: 1, duration_s: 6e8}]}}\n'; case_ "stages longer than 1e9 s in all" "${RUN[@]}" a.yaml
cp "$SRC/tests/data/traces/mooncake_sample.jsonl" t.jsonl; put a.yaml 'workload: {type: trace, trace: {file: t.jsonl, time_scale: 1e9}}\n'
flags 'workload: {type: trace, trace: {file: t.jsonl, time_scale: 1e9}}  (tests/data/traces/mooncake_sample.jsonl)'; case_ "trace stretched beyond 1e9 s (ran forever)" "${RUN[@]}" a.yaml

section "NaN and infinities (issue 19)"
put a.yaml 'epp: {config_file: epp.yaml}\n'
input epp.yaml "${H}plugins:\n- type: queue-scorer\nflowControl: {defaultRequestTTL: nanms}\n"; case_ "NaN duration in an EndpointPickerConfig" "${RUN[@]}" a.yaml
input epp.yaml "${H}plugins:\n- type: queue-scorer\nflowControl: {maxBytes: \"nan\"}\n";   case_ "NaN quantity in an EndpointPickerConfig" "${RUN[@]}" a.yaml
input epp.yaml "${H}plugins:\n- type: queue-scorer\nflowControl: {maxRequests: infKi}\n";   case_ "infinite quantity" "${RUN[@]}" a.yaml
input a.yaml 'duration_s: .nan\n';                                                         case_ "YAML .nan" "${RUN[@]}" a.yaml
input a.yaml 'duration_s: .inf\n';                                                         case_ "YAML .inf" "${RUN[@]}" a.yaml
sed 's/- --block-size=32/- --gpu-memory-utilization=nan/' "$SRC/tests/data/manifests/vllm-pool.yaml" > m.yaml
printf '(tests/data/manifests/vllm-pool.yaml with --gpu-memory-utilization=nan)' > .input;  case_ "NaN vLLM flag in a manifest" "$EPPSIM" run -q --no-plots -o out --manifest m.yaml
flags eppsim compare --tolerance ttft=nan A B;   case_ "compare: NaN tolerance" "$EPPSIM" compare --tolerance ttft=nan A B
flags eppsim compare --tolerance inf A B;        case_ "compare: infinite tolerance" "$EPPSIM" compare --tolerance inf A B
mkdir -p A B; put B/summary.json '{"latency_ms": {"ttft": {"p99": 120.5}}}\n'
input A/summary.json '{"latency_ms": {"ttft": {"p99": 1e999}}}\n';  case_ "compare: a summary.json number that overflows to infinity" "$EPPSIM" compare A B
rm -rf A B
flags eppsim trace gen --rate inf -o t.jsonl;    case_ "trace gen: infinite rate" "$EPPSIM" trace gen --rate inf -o t.jsonl
flags eppsim trace gen --rate nan -o t.jsonl;    case_ "trace gen: NaN rate" "$EPPSIM" trace gen --rate nan -o t.jsonl
flags eppsim bench e2e --mooncake-scale nan;     case_ "bench e2e: NaN scale" "$EPPSIM" bench e2e --mooncake-scale nan

section "Unbounded work and special files (issue 19)"
input a.yaml 'workload: {num_requests: 0}\n';               case_ "neither a request count nor a duration" "${RUN[@]}" a.yaml
input a.yaml 'workload: {type: synthetic, num_requests: 0, arrival: {process: closed_loop, concurrency: 4}}\n'; case_ "closed loop without an end" "${RUN[@]}" a.yaml
flags eppsim trace gen --requests -1 -o t.jsonl;            case_ "trace gen: negative count" "$EPPSIM" trace gen --requests -1 -o t.jsonl
flags eppsim trace gen --requests 99999999999 -o t.jsonl;   case_ "trace gen: count above the cap" "$EPPSIM" trace gen --requests 99999999999 -o t.jsonl
flags eppsim explain --request -1;                          case_ "explain: negative request id" "$EPPSIM" explain --request -1 --from-run x
rm -f fifo.jsonl; mkfifo fifo.jsonl; put a.yaml 'workload: {type: trace, trace: {file: fifo.jsonl}}\n'; flags 'workload: {type: trace, trace: {file: fifo.jsonl}}  (a FIFO)'
case_ "trace is a FIFO" "${RUN[@]}" a.yaml; rm -f fifo.jsonl
flags eppsim run /dev/zero;                                 case_ "experiment file is /dev/zero" "${RUN[@]}" /dev/zero
mkdir -p adir; flags eppsim run adir/;                      case_ "experiment file is a directory" "${RUN[@]}" adir; rmdir adir
truncate -s 65M big.yaml; flags eppsim run big.yaml '(65 MiB)'; case_ "experiment file over 64 MiB" "${RUN[@]}" big.yaml; rm -f big.yaml
put a.yaml 'workload: {type: trace, trace: {file: /dev/zero, format: mooncake}}\n'; flags 'workload: {type: trace, trace: {file: /dev/zero}}'
case_ "trace is /dev/zero" "${RUN[@]}" a.yaml
put a.yaml 'epp: {config_file: /dev/zero}\n'; flags 'epp: {config_file: /dev/zero}'; case_ "EPP config is /dev/zero" "${RUN[@]}" a.yaml
flags eppsim trace stats /dev/zero;                         case_ "trace stats of /dev/zero" "$EPPSIM" trace stats /dev/zero
flags eppsim run --manifest /dev/zero;                      case_ "manifest is /dev/zero" "$EPPSIM" run -q --no-plots -o out --manifest /dev/zero

section "Data loss (issue 19)"
cp "$SRC/tests/data/traces/mooncake_sample.jsonl" t.jsonl
flags eppsim trace convert t.jsonl -o t.jsonl;   case_ "trace convert onto its input" "$EPPSIM" trace convert t.jsonl -o t.jsonl
flags eppsim trace convert t.jsonl -o ./t.jsonl; case_ "trace convert onto its input, another spelling" "$EPPSIM" trace convert t.jsonl -o ./t.jsonl

section "Traces out of time order (issue 19)"
put a.yaml 'workload: {type: trace, trace: {file: t.jsonl}}\n'
input t.jsonl '{"timestamp": 100, "input_length": 600, "output_length": 5, "hash_ids": [0, 1]}\n{"timestamp": 50, "input_length": 600, "output_length": 5, "hash_ids": [0, 2]}\n'
case_ "mooncake: a line earlier than the one before" "${RUN[@]}" a.yaml
flags eppsim trace stats t.jsonl;  case_ "trace stats of the same trace" "$EPPSIM" trace stats t.jsonl
put a.yaml 'workload: {type: trace, trace: {file: t.csv}}\n'
input t.csv 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:50.9951690,396,109\n2023-11-16 18:15:46.6805900,374,44\n'
case_ "azure: a line earlier than the one before" "${RUN[@]}" a.yaml

section "Names in outputs (issue 19)"
sed 's/name: llama-pool$/name: "llama,pool"/' "$SRC/tests/data/manifests/vllm-pool.yaml" > m.yaml
printf '(tests/data/manifests/vllm-pool.yaml with the pool named "llama,pool")' > .input; case_ "pool name with a comma" "$EPPSIM" run -q --no-plots -o out --manifest m.yaml
L=$(printf 'p%.0s' $(seq 70)); sed "s/name: llama-pool\$/name: $L/" "$SRC/tests/data/manifests/vllm-pool.yaml" > m.yaml
printf '(tests/data/manifests/vllm-pool.yaml with a pool name of 70 characters)' > .input; case_ "pool name too long for its pods" "$EPPSIM" run -q --no-plots -o out --manifest m.yaml
section "inference-perf configs (workload.inference_perf, eppsim run --inference-perf)"
put a.yaml 'workload: {inference_perf: {file: ip.yaml, version: current}}\n'
input ip.yaml 'data: {type: random, inputs: 3}\nload: {stages: [{rate: 1, duration: 1}]}\n';        case_ "key unknown to the current build" "${RUN[@]}" a.yaml
input ip.yaml 'data: {type: shared_prefix}\nload:\n  stages:\n  - {duration: 5}\n';                   case_ "stage without a rate" "${RUN[@]}" a.yaml
input ip.yaml 'load: {stages: [{rate: 1, duration: 1}]}\n';                                         case_ "no data section (mock)" "${RUN[@]}" a.yaml
input ip.yaml 'data: {type: shared_prefix}\nload: {sweep: {type: linear}}\n';                       case_ "a sweep" "${RUN[@]}" a.yaml
put a.yaml 'workload: {inference_perf: {file: ip.yaml, version: 2025-10}}\n'
input ip.yaml 'data: {type: shared_prefix}\nload: {type: concurrent, stages: [{num_requests: 5, concurrency_level: 2}]}\n'
case_ "load type newer than the 2025-10 build" "${RUN[@]}" a.yaml
input a.yaml 'workload: {inference_perf: {file: ip.yaml, version: 2024}}\n';                        case_ "unknown build" "${RUN[@]}" a.yaml
rm -f .input; put a.yaml 'workload: {inference_perf: nothere.yaml}\n';                               case_ "missing file" "${RUN[@]}" a.yaml
put a.yaml 'workload: {inference_perf: ip.yaml}\n'; input ip.yaml '';                                 case_ "empty config" "${RUN[@]}" a.yaml
mkdir -p ipdir; put a.yaml 'workload: {inference_perf: ipdir}\n'; flags 'workload: {inference_perf: ipdir}  (a directory)'; case_ "config is a directory" "${RUN[@]}" a.yaml; rmdir ipdir
# given by an option, the error names the option (the key is in no file)
mkdir -p ipdir; flags eppsim run --inference-perf ipdir;   case_ "--inference-perf of a directory" "${RUN[@]}" --inference-perf ipdir; rmdir ipdir
put ip.yaml ''; flags 'eppsim run --inference-perf ip.yaml  (an empty file)'; case_ "--inference-perf of an empty config" "${RUN[@]}" --inference-perf ip.yaml
put ip.yaml 'data: {type: shared_prefix}\nload: {stages: [{rate: 1, duration: 1}]}\n'
flags eppsim run --inference-perf ip.yaml --inference-perf-version 2024; case_ "--inference-perf-version unknown" "${RUN[@]}" --inference-perf ip.yaml --inference-perf-version 2024

section "Models and GPUs (server.model: config.json, server.gpu, their data files)"
input a.yaml 'server: {model: nothere.json}\n';            case_ "model config missing" "${RUN[@]}" a.yaml
put a.yaml 'server: {model: m.json}\n'
input m.json '{"hidden_size": 4096, "intermediate_size": 11008,\n "num_hidden_layers": 32, "num_attention_heads": 32,\n "num_key_value_heads": 6, "vocab_size": 32000}\n'
case_ "KV heads do not divide the heads" "${RUN[@]}" a.yaml
input m.json '{"hidden_size": 4096, "num_hidden_layers": 32,\n "num_attention_heads": 32, "vocab_size": 32000}\n'
case_ "model config lacks a key" "${RUN[@]}" a.yaml
input m.json '{"hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,\n "num_attention_heads": 32, "vocab_size": 32000, "torch_dtype": "int3"}\n'
case_ "model config: unknown torch_dtype" "${RUN[@]}" a.yaml
put a.yaml 'server: {gpu: toy, gpu_datasheet: g.yaml}\n'
input g.yaml 'gpus:\n  toy:\n    memory_MiB: 1024\n    bf16_TFLOPs: 10\n    fp8_TFLOPs: 0\n    nvlink_GBps: 0\n    pcie_GBps: 16\n    source: test\n'
case_ "datasheet entry lacks a key" "${RUN[@]}" a.yaml
put a.yaml 'server: {model: m.json, step_coefficients: c.yaml}\n'
put m.json '{"hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,\n "num_attention_heads": 32, "vocab_size": 32000}\n'
input c.yaml 'analytic:\n  gemm_efficiency: 0.5\n  attention_efficiency: 1.5\n'
case_ "coefficient out of range" "${RUN[@]}" a.yaml
put a.yaml 'server: {model: m.json, step_model: profile}\n'
printf 'server: {model: m.json, step_model: profile}' > "$W/.input"
case_ "profile step model for an unmeasured model" "${RUN[@]}" a.yaml

mkdir -p mdir; put a.yaml 'server: {model: ./mdir}\n'; flags 'server: {model: ./mdir}  (a directory)'; case_ "model config is a directory" "${RUN[@]}" a.yaml; rmdir mdir
put a.yaml 'server: {model: /dev/zero}\n'; flags 'server: {model: /dev/zero}'; case_ "model config is /dev/zero" "${RUN[@]}" a.yaml
put a.yaml 'server: {model: m.json}\n'; input m.json ''; case_ "model config is empty" "${RUN[@]}" a.yaml

section "Command-line flags"
flags eppsim run --seed 12x;                   case_ "seed not a number" "$EPPSIM" run -q --no-plots -o out --seed 12x base.yaml
flags eppsim bench e2e --case e;               case_ "unknown benchmark case" "$EPPSIM" bench e2e --case e
flags eppsim bench e2e --mooncake-scale fast;  case_ "benchmark scale not a number" "$EPPSIM" bench e2e --mooncake-scale fast
flags eppsim run --set server.max_num_seqs=;   case_ "--set with no value" "${RUN[@]}" --set server.max_num_seqs= base.yaml
flags eppsim run --set cluster.replicas.x=1;   case_ "--set below a scalar" "${RUN[@]}" --set cluster.replicas.x=1 base.yaml
# a --set value is blamed on the option, never on the base file's line
flags eppsim run --set server.bogus=1;         case_ "--set of an unknown key" "${RUN[@]}" --set server.bogus=1 base.yaml
flags eppsim run --set server.max_num_seqs=abc; case_ "--set of a mistyped value" "${RUN[@]}" --set server.max_num_seqs=abc base.yaml
put s.yaml 'base: base.yaml\ngrid: {cluster.replicas: [1, 2]}\n'
flags eppsim sweep s.yaml --set server.max_num_seqs=abc; case_ "sweep --set of a mistyped value" "$EPPSIM" sweep -q -o sw --set server.max_num_seqs=abc s.yaml
flags eppsim sweep s.yaml --set server.bogus=1;          case_ "sweep --set of an unknown key" "$EPPSIM" sweep -q -o sw --set server.bogus=1 s.yaml

section "vLLM serve settings and validation (server.vllm_args, eppsim validate)"
input a.yaml 'server: {vllm_args: "--max-num-seqs lots"}\n';                     case_ "flag value not a number" "${RUN[@]}" a.yaml
input a.yaml 'server: {vllm_args: "--block-size \\"16"}\n';                     case_ "unterminated quote" "${RUN[@]}" a.yaml
input a.yaml 'server: {max_num_seqs: 64, vllm_args: "--max-num-seqs 128"}\n';   case_ "key and flag disagree" "${RUN[@]}" a.yaml
input a.yaml 'server: {vllm_version: "0.6.3", vllm_args: "--max-num-seqs 8"}\n'; case_ "vLLM before the V1 engine" "${RUN[@]}" a.yaml
input a.yaml 'server: {vllm_args: "--model org/unknown-model"}\n';              case_ "model without a profile" "${RUN[@]}" a.yaml
input c.yaml 'set: {name: s, colour: red}\ncases: []\n';                       case_ "case file: unknown set key" "$EPPSIM" validate c.yaml
input c.yaml 'cases:\n  - {name: a, model: m, workload: {}, measured: {}}\n'; case_ "case file: no load stages" "$EPPSIM" validate c.yaml
W1='workload: {load: {stages: [{rate: 1, duration: 5}]}}'
input c.yaml "cases:\\n  - {name: a, model: m, $W1,\\n     measured: {run: {ttft_mean_ms: soon}}}\\n"; case_ "case file: figure not a number" "$EPPSIM" validate c.yaml
input c.yaml "cases:\\n  - {name: a, model: m, $W1,\\n     measured: {run: {ttft_ms: 1}}}\\n"; case_ "case file: unknown figure" "$EPPSIM" validate c.yaml
mkdir -p rd; flags eppsim validate rd;        case_ "not an inference-perf result directory" "$EPPSIM" validate rd
input a.yaml 'server: {vllm_version: "abc"}\n';                                 case_ "not a vLLM version, no flags" "${RUN[@]}" a.yaml
input a.yaml 'server: {vllm_config: nothere.yaml}\n';                           case_ "vllm_config missing" "${RUN[@]}" a.yaml
input a.yaml 'server: {tensor_parallel: 3}\n';                                   case_ "TP eppsim does not model" "${RUN[@]}" a.yaml
input a.yaml 'server: {vllm_args: "-tp 3"}\n';                                  case_ "TP flag eppsim does not model" "${RUN[@]}" a.yaml
cp "$SRC/tests/data/validate/blis-sample.csv" b.csv; flags eppsim validate import-blis b.csv -o ./b.csv
case_ "import onto its own CSV" "$EPPSIM" validate import-blis b.csv -o ./b.csv
cmp -s b.csv "$SRC/tests/data/validate/blis-sample.csv" || { echo "FAIL import-blis -o its input changed the CSV"; fails=$((fails + 1)); }
"$EPPSIM" validate import-blis b.csv -o c.yaml; flags eppsim validate c.yaml -o c.yaml
case_ "validate -o onto its case file" "$EPPSIM" validate c.yaml -o c.yaml
cp "$SRC/tests/data/validate/cases.yaml" k.yaml; flags eppsim calibrate k.yaml -o k.yaml
case_ "calibrate -o onto its case file" "$EPPSIM" calibrate --iterations 1 k.yaml -o k.yaml
cmp -s k.yaml "$SRC/tests/data/validate/cases.yaml" || { echo "FAIL calibrate -o its input changed the case file"; fails=$((fails + 1)); }
mkdir -p rdir/results; cp k.yaml rdir/results/config.yaml; flags eppsim validate rdir -o rdir/results/config.yaml
case_ "validate -o onto a file in its result directory" "$EPPSIM" validate rdir -o rdir/results/config.yaml; rm -rf rdir
rm -f .input; put a.yaml 'workload: {vllm_bench: {result: nothere.json}}\n';          case_ "vllm bench result missing" "${RUN[@]}" a.yaml
put a.yaml 'workload: {vllm_bench: {result: bj.json}}\n'; input bj.json '[]\n';         case_ "vllm bench result not an object" "${RUN[@]}" a.yaml
input a.yaml 'server: {vllm_args: "--max-num-seqs 1e3"}\n';                     case_ "integer flag in exponent form" "${RUN[@]}" a.yaml
input a.yaml 'server: {vllm_args: "--gpu-memory-utilization -0.5"}\n';         case_ "negative fraction" "${RUN[@]}" a.yaml
input a.yaml 'server: {vllm_args: "--block-size 17"}\n';                       case_ "block size vLLM does not offer" "${RUN[@]}" a.yaml
input a.yaml 'server: {vllm_args: "--max-model-len 10000000000"}\n';          case_ "max-model-len out of range" "${RUN[@]}" a.yaml
input a.yaml 'server: {vllm_args: "--dtype bogus"}\n';                        case_ "unknown --dtype" "${RUN[@]}" a.yaml
input a.yaml 'server: {vllm_args: "--kv-cache-dtype bogus"}\n';               case_ "unknown --kv-cache-dtype" "${RUN[@]}" a.yaml
put a.yaml 'server: {vllm_config: vc.yaml}\n'
input vc.yaml 'max-num-seqs: 64\nmax_num_seqs: 32\n';                          case_ "vllm_config: one setting under two spellings" "${RUN[@]}" a.yaml
input vc.yaml 'max_model_len: 1e10\n';                                         case_ "vllm_config: integer in exponent form" "${RUN[@]}" a.yaml

section "Found by audit (numbers cast to integers)"
input a.yaml 'workload:\n  inference_perf:\n    prompt_scale: 10\n    config:\n      data: {type: random, input_distribution: {min: 1, max: 1000000000, mean: 1000000000, std_dev: 0},\n             output_distribution: {min: 1, max: 10, mean: 5, std_dev: 0}}\n      load: {type: constant, stages: [{rate: 1, duration: 1}]}\n'
case_ "prompt_scale past 1e9 tokens" "${RUN[@]}" a.yaml
mkdir -p xr; cp "$SRC/examples/epp-configs/default.yaml" xr/epp-config.yaml
input xr/decisions.jsonl '{"request_id": 1e30}\n{"event": "arrival", "request_id": 1, "replica": 0, "flow": {"queued": [[]]}}\n'
case_ "explain: edited decisions.jsonl" "$EPPSIM" explain --from-run xr --request 1; rm -rf xr
mkdir -p mg; input mg/sweep.json '{"points": 1e30, "seeds": [1], "keys": [], "metrics": []}\n'
case_ "sweep merge: points no integer holds" "$EPPSIM" sweep merge mg
input mg/sweep.json '{"points": 1,\n "seeds": [1e30], "keys": [], "metrics": []}\n'
case_ "sweep merge: seed no integer holds" "$EPPSIM" sweep merge mg; rm -rf mg
input c.yaml 'set:\n- name: x\ncases: []\n';               case_ "case file: set is a list (fuzz)" "$EPPSIM" validate c.yaml
mkdir -p xq; cp "$SRC/examples/epp-configs/default.yaml" xq/epp-config.yaml
input xq/decisions.jsonl '{"event": "arrival", "request_id": 5, "replica": 0}\n{"event": "arrival", "request_id": 1, "replica": 0, "flow": {"queued": [[5, 0]]}}\n'
case_ "explain: queued request's arrival has no request (fuzz)" "$EPPSIM" explain --from-run xq --request 1; rm -rf xq

[ "$MODE" = --doc ] && exit 0
echo "$n cases, $fails failed"
[ $fails -eq 0 ]
