#!/usr/bin/env bash
# inference-perf's synthetic images (data.multimodal, data.shared_prefix.multimodal)
# become workload.images items: a shared prefix group's images are the same
# for each of its prompts, a request's own are fresh; each counts
# workload.images.tokens placeholder tokens; video, audio, other data types
# and too many images are refused at file:line:key.
#   tests/cli/inference_perf_images.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
W=$(mktemp -d /tmp/eppsim-cli-ipimg-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
printf 'name: ip\nseed: 1\nserver: {gpu: h100-sxm-80gb, model: llama-3.1-8b}\ncluster: {replicas: 2}\nworkload: {images: {tokens: 100}}\n' > exp.yaml
tail_cfg='load:
  type: constant
  stages: [{rate: 4, duration: 5}]
server: {type: vllm, model_name: m, base_url: http://127.0.0.1:8000}'
cat > sp.yaml <<YAML
api: {type: chat, streaming: true}
data:
  type: shared_prefix
  shared_prefix:
    num_groups: 3
    num_prompts_per_group: 4
    system_prompt_len: 100
    question_len: 50
    output_len: 20
    multimodal:
      image: {count: 2, resolutions: 720p}
  multimodal:
    image: {count: {min: 0, max: 2, mean: 1, std_dev: 1}, insertion_point: 0.5, representation: jpeg}
$tail_cfg
YAML
"$EPPSIM" run exp.yaml --inference-perf sp.yaml --record-decisions -o sp --no-plots > sp.err 2>&1 || { fail "shared_prefix run"; cat sp.err; }
grep -q "sp.yaml:11:.*data.shared_prefix.multimodal.image.resolutions: read, but every image counts workload.images.tokens" sp.err &&
  grep -q "sp.yaml:13:.*data.multimodal.image.insertion_point: read" sp.err || { fail "warnings"; cat sp.err; }
python3 - sp/decisions.jsonl sp/requests.csv <<'PY' || fail "shared_prefix images"
import csv, json, sys
group_imgs, own, counts = {}, set(), set()
for line in open(sys.argv[1]):
    r = json.loads(line)['request']
    imgs, segs = r.get('images', []), r['content']
    assert all(t == 100 for _, t in imgs), imgs
    system = segs[0][0]                  # the group's system prompt
    assert len(imgs) >= 2, imgs          # the group's two, then 0..2 of its own
    g = tuple(i for i, _ in imgs[:2])
    assert group_imgs.setdefault(system, g) == g, (system, g)
    for i, _ in imgs[2:]:
        assert i not in own and i not in sum(map(list, group_imgs.values()), []); own.add(i)
    counts.add(len(imgs) - 2)
    assert sum(s[1] for s in segs) == 100 + 50 + 100 * len(imgs), segs   # image tokens join the prompt
assert len(group_imgs) == 3 and counts == {0, 1, 2}, (len(group_imgs), counts)
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == 20 and all(int(r['prompt_tokens']) >= 350 for r in rows), [r['prompt_tokens'] for r in rows]
PY
# without multimodal the same run has no images and no other change of lengths
sed '/multimodal:/,+1d' sp.yaml > plain.yaml
"$EPPSIM" run exp.yaml --inference-perf plain.yaml --record-decisions -o plain --no-plots -q 2> plain.err || fail "plain run"
python3 - sp/decisions.jsonl plain/decisions.jsonl <<'PY' || fail "images shift nothing else"
import json, sys
a = [json.loads(l)['request'] for l in open(sys.argv[1])]
b = [json.loads(l)['request'] for l in open(sys.argv[2])]
assert len(a) == len(b) and all('images' not in r for r in b)
for x, y in zip(a, b):
    ids = {i for i, _ in x['images']}
    assert [s for s in x['content'] if s[0] not in ids] == y['content'], (x['content'], y['content'])
PY
cat > syn.yaml <<YAML
api: {type: chat, streaming: true}
data:
  type: synthetic
  input_distribution: {min: 50, max: 50, mean: 50, total_count: 30}
  output_distribution: {min: 10, max: 10, mean: 10, total_count: 30}
  multimodal:
    image: {count: 2, resolutions: [{resolution: {height: 480, width: 640}, weight: 2}, {resolution: 4k}]}
$tail_cfg
YAML
"$EPPSIM" run exp.yaml --inference-perf syn.yaml --record-decisions -o syn --no-plots -q 2> syn.err || { fail "synthetic run"; cat syn.err; }
python3 - syn/decisions.jsonl <<'PY' || fail "synthetic images"
import json, sys
seen = set()
for line in open(sys.argv[1]):
    imgs = json.loads(line)['request']['images']
    assert len(imgs) == 2 and all(t == 100 for _, t in imgs), imgs
    for i, _ in imgs: assert i not in seen; seen.add(i)   # fresh pixels each request
assert len(seen) == 40, len(seen)
PY
# refused, at file:line: key
refuse() {   # name, file, expected message
  "$EPPSIM" run exp.yaml --inference-perf "$2" -o bad --no-plots -q > /dev/null 2> err && { fail "$1 accepted"; return; }
  grep -q "$3" err || { fail "$1: $(cat err)"; }
}
sed 's/image: {count: 2, resolutions: 720p}/video: {count: 1}/' sp.yaml > video.yaml
refuse video video.yaml "video.yaml:11: data.shared_prefix.multimodal.video: eppsim models images only"
sed 's/type: synthetic/type: random/' syn.yaml > random.yaml
refuse random random.yaml "random.yaml:7: data.multimodal: eppsim attaches inference-perf's synthetic media for data.type synthetic and shared_prefix"
sed 's/image: {count: 2, /image: {count: 65, /' syn.yaml > many.yaml
refuse many many.yaml "many.yaml:7: data.multimodal.image.count: at most 64 images a request"
sed 's/resolutions: 720p/resolutions: 8k/' sp.yaml > res.yaml
refuse resolution res.yaml "res.yaml:11: data.shared_prefix.multimodal.image.resolutions"
[ "$fails" -eq 0 ] && echo "inference_perf_images: ok"
exit $((fails > 0))
