/* libFuzzer target: the decisions.jsonl of `eppsim explain --from-run DIR
 * --request 2` (a run recorded with --record-decisions): the whole command,
 * reading the records, rebuilding the state (endpoints, history, the flow
 * control queues at the arrival), one pick and the print.  The run's
 * epp-config.yaml is a fixed flow-control config, so arrival records replay.
 * Odd-length inputs print JSON, even-length ones the table. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_cli.h"
#include "fuzz_util.h"

static const char k_config[] =
    "apiVersion: llm-d.ai/v1alpha1\n"
    "kind: EndpointPickerConfig\n"
    "featureGates: [flowControl]\n"
    "plugins:\n"
    "- type: queue-scorer\n"
    "- type: prefix-cache-scorer\n"
    "- type: concurrency-detector\n"
    "  parameters: {maxConcurrency: 6}\n"
    "- type: round-robin-fairness-policy\n"
    "- type: edf-ordering-policy\n"
    "schedulingProfiles:\n"
    "- name: default\n"
    "  plugins:\n"
    "  - {pluginRef: queue-scorer, weight: 1}\n"
    "  - {pluginRef: prefix-cache-scorer, weight: 2}\n"
    "flowControl:\n"
    "  saturationDetector: {pluginRef: concurrency-detector}\n"
    "  maxRequests: \"25\"\n"
    "  defaultRequestTTL: 1500ms\n"
    "  priorityBands:\n"
    "  - {priority: 10, fairnessPolicyRef: round-robin-fairness-policy, orderingPolicyRef: edf-ordering-policy}\n"
    "  - {priority: 0}\n";

static char g_dir[256], g_decisions[300];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!freopen("/dev/null", "w", stdout)) abort();
    const char *t = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/eppsim-fuzz-%ld-run", t && *t ? t : "/tmp", (long)getpid());
    mkdir(g_dir, 0777);
    char cfg[300];
    snprintf(cfg, sizeof cfg, "%s/epp-config.yaml", g_dir);
    FILE *f = fopen(cfg, "wb");
    if (!f || fputs(k_config, f) < 0 || fclose(f)) abort();
    snprintf(g_decisions, sizeof g_decisions, "%s/decisions.jsonl", g_dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(g_decisions, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f)) abort();
    char *argv[] = {"explain", "--from-run", g_dir, "--request", "2", (size & 1) ? "--json" : NULL, NULL};
    es_cmd_explain((size & 1) ? 6 : 5, argv);
    /* a fresh file each time: ext4 flushes a file truncated and rewritten on close (slow) */
    unlink(g_decisions);
    return 0;
}
