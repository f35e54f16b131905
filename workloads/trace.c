/*
 * trace.c -- streaming trace readers (es_trace.h).
 *
 * Lines are read with getline into one growing buffer and parsed in place:
 * strings are NUL-terminated inside the buffer, arrays go to grow-only
 * arrays of the reader.  Nothing is allocated per record once the buffers
 * have grown to the longest line, which is what makes 300k+ records/s
 * possible.  The JSON scanner handles the flat objects of Mooncake and
 * eppsim JSONL (numbers, strings, arrays of numbers or [id, len] pairs, one
 * level of string map for headers); anything else is a parse error that names
 * the line and what was expected.
 */
#include "es_trace.h"
#include "es_file.h"
#include "es_util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_COLS 16

struct es_trace {
    FILE   *f;
    char   *path;
    es_trace_format_t fmt;
    uint32_t block_tokens;
    bool    skip_bad;
    size_t  skipped;
    uint64_t line;             /* lines read so far */
    char   *buf; size_t cap;   /* getline buffer */
    char   *pending;           /* first data line, read ahead during detection */
    uint64_t pending_line;
    /* CSV: column positions found in the header (-1 = absent) */
    int     col_time, col_in, col_out, col_model;
    int     ncols;
    /* relative times: first record's absolute time */
    bool    have_t0;
    int64_t t0;
    /* the last record's time: times never go back */
    bool    have_last;
    int64_t last_t;
    /* grow-only record storage */
    uint64_t     *ids;  size_t ids_cap;
    es_segment_t *segs; size_t segs_cap;
    es_mm_item_t *imgs; size_t imgs_cap;   /* eppsim "images" */
    es_header_t   hdrs[ES_TRACE_MAX_HEADERS];
};

static const char *const k_fmt_names[] = {"auto", "mooncake", "azure", "burstgpt", "sharegpt", "eppsim"};

int es_trace_format_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof k_fmt_names / sizeof k_fmt_names[0]); i++)
        if (strcmp(name, k_fmt_names[i]) == 0) return i;
    return -1;
}

const char *es_trace_format_name(es_trace_format_t f)
{
    return (unsigned)f < sizeof k_fmt_names / sizeof k_fmt_names[0] ? k_fmt_names[f] : "?";
}

es_trace_format_t es_trace_format(const es_trace_t *t) { return t->fmt; }
uint32_t es_trace_block_tokens(const es_trace_t *t) { return t->block_tokens; }
size_t es_trace_skipped(const es_trace_t *t) { return t->skipped; }
const char *es_trace_path(const es_trace_t *t) { return t->path; }

/* ---- line input ---- */

/* Reads the next non-blank line into t->buf (trailing newline removed);
 * returns its length, or -1 at end of file. */
static ssize_t read_line(es_trace_t *t, char **line)
{
    for (;;) {
        ssize_t n = getline(&t->buf, &t->cap, t->f);
        if (n < 0) return -1;
        t->line++;
        /* a UTF-8 byte-order mark (Windows editors, Excel's CSV export) */
        if (t->line == 1 && n >= 3 && memcmp(t->buf, "\xEF\xBB\xBF", 3) == 0) {
            memmove(t->buf, t->buf + 3, (size_t)n - 2);
            n -= 3;
        }
        while (n > 0 && (t->buf[n - 1] == '\n' || t->buf[n - 1] == '\r')) t->buf[--n] = '\0';
        const char *p = t->buf;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\0') continue;
        *line = t->buf;
        return n;
    }
}

/* ---- scanning helpers ---- */

typedef struct scan {
    char       *p;
    const char *expect;    /* what was expected where parsing stopped */
} scan_t;

static inline void ws(scan_t *s) { while (*s->p == ' ' || *s->p == '\t') s->p++; }

static inline bool eat(scan_t *s, char c)
{
    ws(s);
    if (*s->p != c) return false;
    s->p++;
    return true;
}

/* Unsigned integer; fast path for the hash-id arrays. */
static bool scan_u64(scan_t *s, uint64_t *out)
{
    ws(s);
    const char *p = s->p;
    if (*p < '0' || *p > '9') return false;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
        p++;
    }
    if (*p == '.' || *p == 'e' || *p == 'E') return false;   /* not an integer */
    s->p = (char *)p;
    *out = v;
    return true;
}

static bool scan_double(scan_t *s, double *out)
{
    ws(s);
    char *end;
    errno = 0;
    double v = strtod(s->p, &end);
    if (end == s->p || errno == ERANGE || !isfinite(v)) return false;
    s->p = end;
    *out = v;
    return true;
}

/* Integer that may be written as a float with no fraction (e.g. 12.0). */
static bool scan_count(scan_t *s, uint32_t *out)
{
    uint64_t v;
    char *save = s->p;
    if (scan_u64(s, &v)) {
        if (v > UINT32_MAX) return false;
        *out = (uint32_t)v;
        return true;
    }
    s->p = save;
    double d;
    if (!scan_double(s, &d) || d < 0 || d > UINT32_MAX || d != floor(d)) { s->p = save; return false; }
    *out = (uint32_t)d;
    return true;
}

/* JSON string, unescaped in place and NUL-terminated. */
static bool scan_string(scan_t *s, char **out)
{
    ws(s);
    if (*s->p != '"') return false;
    char *start = ++s->p, *r = start, *w = start;
    while (*r && *r != '"') {
        if (*r == '\\') {
            r++;
            switch (*r) {
            case '"': case '\\': case '/': *w++ = *r++; break;
            case 'n': *w++ = '\n'; r++; break;
            case 't': *w++ = '\t'; r++; break;
            case 'r': *w++ = '\r'; r++; break;
            case 'b': *w++ = '\b'; r++; break;
            case 'f': *w++ = '\f'; r++; break;
            default: return false;   /* \u escapes are not needed by any format here */
            }
        } else {
            *w++ = *r++;
        }
    }
    if (*r != '"') return false;
    s->p = r + 1;
    *w = '\0';
    *out = start;
    return true;
}

/* Skips any JSON value (unknown keys are ignored, for forward compatibility). */
static bool skip_value(scan_t *s)
{
    ws(s);
    char c = *s->p;
    if (c == '"') { char *x; return scan_string(s, &x); }
    if (c == '[' || c == '{') {
        int depth = 0;
        do {
            c = *s->p;
            if (c == '\0') return false;
            if (c == '"') { char *x; if (!scan_string(s, &x)) return false; continue; }
            if (c == '[' || c == '{') depth++;
            else if (c == ']' || c == '}') depth--;
            s->p++;
        } while (depth > 0);
        return true;
    }
    if (strncmp(s->p, "true", 4) == 0 || strncmp(s->p, "null", 4) == 0) { s->p += 4; return true; }
    if (strncmp(s->p, "false", 5) == 0) { s->p += 5; return true; }
    double d;
    return scan_double(s, &d);
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *p = realloc(*arr, n * elem);
    if (!p) return false;
    *arr = p;
    *cap = n;
    return true;
}

static bool null_lit(scan_t *s)
{
    ws(s);
    if (strncmp(s->p, "null", 4) != 0) return false;
    s->p += 4;
    return true;
}

/* ---- Mooncake and eppsim JSONL ---- */

enum { K_TIME = 1, K_IN = 2, K_OUT = 4, K_CONTENT = 8 };

static int parse_json_line(es_trace_t *t, char *line, es_trace_rec_t *r, const char **expect)
{
    scan_t s = {line, NULL};
    unsigned seen = 0;
    bool moon = t->fmt == ES_TRACE_MOONCAKE;
    if (!eat(&s, '{')) { *expect = "a JSON object '{'"; return -1; }
    if (eat(&s, '}')) goto done;
    for (;;) {
        char *key;
        if (!scan_string(&s, &key)) { *expect = "a quoted key"; return -1; }
        if (!eat(&s, ':')) { *expect = "':' after a key"; return -1; }
        if (moon ? strcmp(key, "timestamp") == 0 : strcmp(key, "arrival_ms") == 0) {
            double ms;
            if (!scan_double(&s, &ms) || ms < 0 || ms > 9.2e12) {
                *expect = moon ? "\"timestamp\": milliseconds >= 0" : "\"arrival_ms\": milliseconds >= 0";
                return -1;
            }
            r->t = es_time_from_ms(ms);
            seen |= K_TIME;
        } else if (moon ? strcmp(key, "input_length") == 0 : strcmp(key, "input_tokens") == 0) {
            if (!scan_count(&s, &r->input_tokens)) {
                *expect = moon ? "\"input_length\": a token count" : "\"input_tokens\": a token count";
                return -1;
            }
            seen |= K_IN;
        } else if (moon ? strcmp(key, "output_length") == 0 : strcmp(key, "output_tokens") == 0) {
            if (!scan_count(&s, &r->output_tokens)) {
                *expect = moon ? "\"output_length\": a token count" : "\"output_tokens\": a token count";
                return -1;
            }
            seen |= K_OUT;
        } else if (moon && strcmp(key, "hash_ids") == 0) {
            if (!eat(&s, '[')) { *expect = "\"hash_ids\": a list of integers"; return -1; }
            size_t n = 0;
            if (!eat(&s, ']')) {
                for (;;) {
                    if (!grow((void **)&t->ids, &t->ids_cap, n + 1, sizeof *t->ids)) return -2;
                    if (!scan_u64(&s, &t->ids[n])) { *expect = "\"hash_ids\": a list of integers"; return -1; }
                    n++;
                    if (eat(&s, ']')) break;
                    if (!eat(&s, ',')) { *expect = "',' or ']' in \"hash_ids\""; return -1; }
                }
            }
            r->hash_ids = t->ids;
            r->nhash = (uint32_t)n;
            seen |= K_CONTENT;
        } else if (!moon && strcmp(key, "segments") == 0) {
            if (!eat(&s, '[')) { *expect = "\"segments\": a list of [id, tokens] pairs"; return -1; }
            size_t n = 0;
            uint32_t sum = 0;
            if (!eat(&s, ']')) {
                for (;;) {
                    if (!grow((void **)&t->segs, &t->segs_cap, n + 1, sizeof *t->segs)) return -2;
                    es_segment_t *g = &t->segs[n];
                    if (!eat(&s, '[') || !scan_u64(&s, &g->id) || !eat(&s, ',') ||
                        !scan_count(&s, &g->len) || g->len == 0 || !eat(&s, ']')) {
                        *expect = "\"segments\": [id, tokens] with an unsigned id and tokens > 0";
                        return -1;
                    }
                    if (sum + g->len < sum) { *expect = "fewer than 2^32 prompt tokens"; return -1; }
                    sum += g->len;
                    n++;
                    if (eat(&s, ']')) break;
                    if (!eat(&s, ',')) { *expect = "',' or ']' in \"segments\""; return -1; }
                }
            }
            r->segs = t->segs;
            r->nsegs = (uint32_t)n;
            if ((seen & K_IN) && r->input_tokens != sum) {
                *expect = "\"input_tokens\" equal to the sum of segment lengths";
                return -1;
            }
            r->input_tokens = sum;
            seen |= K_CONTENT | K_IN;
        } else if (!moon && strcmp(key, "images") == 0) {
            /* multimodal items: [id, tokens] each; their tokens join the prompt (docs/workloads.md) */
            if (!eat(&s, '[')) { *expect = "\"images\": a list of [id, tokens] pairs"; return -1; }
            size_t n = 0;
            if (!eat(&s, ']')) {
                for (;;) {
                    if (n == ES_TRACE_MAX_IMAGES) { *expect = "at most 64 images"; return -1; }
                    if (!grow((void **)&t->imgs, &t->imgs_cap, n + 1, sizeof *t->imgs)) return -2;
                    es_mm_item_t *g = &t->imgs[n];
                    if (!eat(&s, '[') || !scan_u64(&s, &g->hash) || !eat(&s, ',') ||
                        !scan_count(&s, &g->tokens) || g->tokens == 0 || !eat(&s, ']')) {
                        *expect = "\"images\": [id, tokens] with an unsigned id and tokens > 0";
                        return -1;
                    }
                    n++;
                    if (eat(&s, ']')) break;
                    if (!eat(&s, ',')) { *expect = "',' or ']' in \"images\""; return -1; }
                }
            }
            r->images = n ? t->imgs : NULL;
            r->nimages = (uint32_t)n;
        } else if (!moon && (strcmp(key, "path") == 0 || strcmp(key, "model") == 0 ||
                             strcmp(key, "objective") == 0 || strcmp(key, "session") == 0 ||
                             strcmp(key, "lora") == 0)) {
            const char **dst = key[0] == 'p' ? &r->path : key[0] == 'm' ? &r->model
                             : key[0] == 'o' ? &r->objective : key[0] == 's' ? &r->session : &r->lora;
            char *v;
            if (null_lit(&s)) *dst = NULL;
            else if (scan_string(&s, &v)) *dst = v;
            else { *expect = "a string or null"; return -1; }
        } else if (!moon && strcmp(key, "priority") == 0) {
            double d;
            if (!scan_double(&s, &d) || d != floor(d) || d < INT32_MIN || d > INT32_MAX) {
                *expect = "\"priority\": an integer";
                return -1;
            }
            r->priority = (int32_t)d;
            r->has_priority = true;
        } else if (!moon && strcmp(key, "output_segment") == 0) {
            if (!scan_u64(&s, &r->output_segment)) { *expect = "\"output_segment\": an unsigned id"; return -1; }
            r->has_output_segment = true;
        } else if (!moon && strcmp(key, "headers") == 0) {
            if (!eat(&s, '{')) { *expect = "\"headers\": an object of strings"; return -1; }
            uint32_t n = 0;
            if (!eat(&s, '}')) {
                for (;;) {
                    char *hk, *hv;
                    if (n == ES_TRACE_MAX_HEADERS) { *expect = "at most 16 headers"; return -1; }
                    if (!scan_string(&s, &hk) || !eat(&s, ':') || !scan_string(&s, &hv)) {
                        *expect = "\"headers\": {\"name\": \"value\", ...}";
                        return -1;
                    }
                    for (char *c = hk; *c; c++) *c = (char)tolower((unsigned char)*c);
                    t->hdrs[n].name = hk;
                    t->hdrs[n].value = hv;
                    n++;
                    if (eat(&s, '}')) break;
                    if (!eat(&s, ',')) { *expect = "',' or '}' in \"headers\""; return -1; }
                }
            }
            r->headers = n ? t->hdrs : NULL;
            r->nheaders = n;
        } else if (!skip_value(&s)) {
            *expect = "a JSON value";
            return -1;
        }
        if (eat(&s, '}')) break;
        if (!eat(&s, ',')) { *expect = "',' or '}'"; return -1; }
    }
done:
    ws(&s);
    if (*s.p != '\0') { *expect = "end of line after the object"; return -1; }
    if (moon) {
        if ((seen & (K_TIME | K_IN | K_OUT | K_CONTENT)) != (K_TIME | K_IN | K_OUT | K_CONTENT)) {
            *expect = "keys timestamp, input_length, output_length and hash_ids";
            return -1;
        }
        uint64_t b = t->block_tokens;
        if (r->input_tokens == 0 || r->nhash == 0 || (uint64_t)r->nhash * b < r->input_tokens ||
            (uint64_t)(r->nhash - 1) * b >= r->input_tokens) {
            *expect = "ceil(input_length / block_tokens) hash_ids (is trace.block_tokens right?)";
            return -1;
        }
    } else {
        if (!(seen & K_TIME)) { *expect = "key \"arrival_ms\""; return -1; }
        if (!(seen & K_IN) || r->input_tokens == 0) { *expect = "\"segments\" or \"input_tokens\" > 0"; return -1; }
        if (!(seen & K_OUT)) { *expect = "key \"output_tokens\""; return -1; }
    }
    r->has_time = true;
    return 0;
}

/* ---- CSV ---- */

/* Splits a CSV line in place (no quoted commas in these formats; surrounding
 * quotes are stripped).  Returns the number of fields. */
static int split_csv(char *line, char **cols, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ') p++;
        char *start = p;
        while (*p && *p != ',') p++;
        char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
        if (end - start >= 2 && *start == '"' && end[-1] == '"') { start++; end--; }
        bool more = *p == ',';
        *end = '\0';
        if (n < max) cols[n] = start;
        n++;
        if (!more) break;
        p++;
    }
    return n;
}

static int days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int)doe - 719468;
}

/* "YYYY-MM-DD HH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]" -> ns since the epoch. */
static bool parse_datetime(const char *p, int64_t *out)
{
    int v[6] = {0};
    static const int width[6] = {4, 2, 2, 2, 2, 2};
    static const char sep[6] = {'-', '-', ' ', ':', ':', 0};
    for (int i = 0; i < 6; i++) {
        for (int k = 0; k < width[i]; k++, p++) {
            if (*p < '0' || *p > '9') return false;
            v[i] = v[i] * 10 + (*p - '0');
        }
        if (i < 5) {
            if (*p != sep[i] && !(i == 2 && *p == 'T')) return false;
            p++;
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60) return false;
    /* int64 ns since 1970 end in 2262; within 1970..2199 any two times also
     * subtract without overflow */
    if (v[0] < 1970 || v[0] > 2199) return false;
    int64_t frac = 0, scale = 1000000000;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return false;
        while (*p >= '0' && *p <= '9') {
            if (scale > 1) { scale /= 10; frac += (*p - '0') * scale; }
            p++;
        }
    }
    int64_t zone = 0;
    if (*p == 'Z') p++;
    else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        p++;
        int hh = 0, mm = 0;
        for (int k = 0; k < 2; k++, p++) { if (*p < '0' || *p > '9') return false; hh = hh * 10 + (*p - '0'); }
        if (*p == ':') p++;
        for (int k = 0; k < 2 && *p; k++, p++) { if (*p < '0' || *p > '9') return false; mm = mm * 10 + (*p - '0'); }
        zone = sign * (hh * 3600 + mm * 60);
    }
    if (*p != '\0') return false;
    int64_t secs = (int64_t)days_from_civil(v[0], (unsigned)v[1], (unsigned)v[2]) * 86400 +
                   v[3] * 3600 + v[4] * 60 + v[5] - zone;
    *out = secs * 1000000000 + frac;
    return true;
}

static bool csv_count(const char *s, uint32_t *out)
{
    scan_t sc = {(char *)s, NULL};
    return scan_count(&sc, out) && *sc.p == '\0';
}

static int parse_csv_line(es_trace_t *t, char *line, es_trace_rec_t *r, const char **expect)
{
    char *cols[MAX_COLS];
    int n = split_csv(line, cols, MAX_COLS);
    if (n != t->ncols) {
        *expect = t->fmt == ES_TRACE_AZURE ? "3 columns: TIMESTAMP,ContextTokens,GeneratedTokens"
                : t->fmt == ES_TRACE_BURSTGPT ? "6 columns: Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type"
                : "as many columns as the header";
        return -1;
    }
    if (!csv_count(cols[t->col_in], &r->input_tokens)) { *expect = "an input token count"; return -1; }
    if (!csv_count(cols[t->col_out], &r->output_tokens)) { *expect = "an output token count"; return -1; }
    if (t->col_model >= 0) r->model = cols[t->col_model];
    if (t->col_time < 0) return 0;
    int64_t abs_ns;
    if (t->fmt == ES_TRACE_AZURE) {
        if (!parse_datetime(cols[t->col_time], &abs_ns)) {
            *expect = "TIMESTAMP as YYYY-MM-DD HH:MM:SS[.fraction][zone]";
            return -1;
        }
    } else {
        scan_t sc = {cols[t->col_time], NULL};
        double sec;
        if (!scan_double(&sc, &sec) || *sc.p != '\0' || sec < 0 || sec > 9.2e9) {
            *expect = "Timestamp in seconds >= 0";
            return -1;
        }
        abs_ns = es_time_from_s(sec);
    }
    if (!t->have_t0) { t->have_t0 = true; t->t0 = abs_ns; }
    r->t = abs_ns - t->t0;
    r->has_time = true;
    return 0;
}

static int find_col(char **cols, int n, const char *const *names)
{
    for (int i = 0; i < n; i++)
        for (const char *const *q = names; *q; q++)
            if (strcasecmp(cols[i], *q) == 0) return i;
    return -1;
}

/* Reads the CSV header and finds the columns. */
static int setup_csv(es_trace_t *t, char *line, es_err_t *err)
{
    static const char *const time_names[] = {"TIMESTAMP", "arrival_s", NULL};
    static const char *const in_az[] = {"ContextTokens", NULL};
    static const char *const out_az[] = {"GeneratedTokens", NULL};
    static const char *const in_b[] = {"Request tokens", NULL};
    static const char *const out_b[] = {"Response tokens", NULL};
    static const char *const model_b[] = {"Model", NULL};
    static const char *const in_s[] = {"num_prefill_tokens", "input_tokens", "input_len", "input_length",
                                       "prompt_tokens", "prompt_len", "ContextTokens", NULL};
    static const char *const out_s[] = {"num_decode_tokens", "output_tokens", "output_len", "output_length",
                                        "completion_tokens", "GeneratedTokens", NULL};
    char *cols[MAX_COLS];
    int n = split_csv(line, cols, MAX_COLS);
    if (n > MAX_COLS) n = MAX_COLS;
    t->ncols = n;
    t->col_model = -1;
    t->col_time = -1;
    if (t->fmt == ES_TRACE_AZURE) {
        t->col_time = find_col(cols, n, time_names);
        t->col_in = find_col(cols, n, in_az);
        t->col_out = find_col(cols, n, out_az);
    } else if (t->fmt == ES_TRACE_BURSTGPT) {
        static const char *const ts[] = {"Timestamp", NULL};
        t->col_time = find_col(cols, n, ts);
        t->col_in = find_col(cols, n, in_b);
        t->col_out = find_col(cols, n, out_b);
        t->col_model = find_col(cols, n, model_b);
    } else {
        t->col_in = find_col(cols, n, in_s);
        t->col_out = find_col(cols, n, out_s);
    }
    if (t->col_in < 0 || t->col_out < 0 || (t->fmt != ES_TRACE_SHAREGPT && t->col_time < 0))
        return es_err_set(err, ES_EPARSE, "%s:%" PRIu64 ": expected a %s header (%s)", t->path, t->line,
                          es_trace_format_name(t->fmt),
                          t->fmt == ES_TRACE_AZURE ? "TIMESTAMP,ContextTokens,GeneratedTokens"
                          : t->fmt == ES_TRACE_BURSTGPT
                              ? "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type"
                              : "input and output token columns, e.g. num_prefill_tokens,num_decode_tokens");
    return 0;
}

/* ---- open / detect / next ---- */

static es_trace_format_t detect(char *line)
{
    if (line[strspn(line, " \t")] == '{') return strstr(line, "\"hash_ids\"") ? ES_TRACE_MOONCAKE : ES_TRACE_EPPSIM;
    if (strstr(line, "ContextTokens") && strstr(line, "TIMESTAMP")) return ES_TRACE_AZURE;
    if (strstr(line, "Request tokens") && strstr(line, "Response tokens")) return ES_TRACE_BURSTGPT;
    if (strstr(line, "num_prefill_tokens") || strstr(line, "input_tokens") || strstr(line, "input_len") ||
        strstr(line, "prompt_len") || strstr(line, "prompt_tokens"))
        return ES_TRACE_SHAREGPT;
    return ES_TRACE_AUTO;
}

int es_trace_open(const char *path, es_trace_format_t fmt, uint32_t block_tokens,
                  bool skip_bad_lines, es_trace_t **out, es_err_t *err)
{
    ES_ASSERT(block_tokens > 0, "block_tokens must be positive");
    *out = NULL;
    es_trace_t *t = calloc(1, sizeof *t);
    if (!t) return es_err_set(err, ES_ENOMEM, "out of memory");
    t->path = strdup(path);
    if (!t->path) { es_trace_close(t); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    es_err_t oerr;
    es_err_clear(&oerr);
    t->f = es_open_input(path, "r", 0, &oerr);
    if (!t->f) {
        es_trace_close(t);
        if (oerr.code == ES_EINVAL) return es_err_set(err, ES_EINVAL, "%s", oerr.msg);
        return es_err_set(err, ES_EIO, "%s: cannot open trace: %s", path, strerror(errno));
    }
    t->block_tokens = block_tokens;
    t->skip_bad = skip_bad_lines;
    char *line;
    if (read_line(t, &line) < 0) {
        es_trace_close(t);
        return es_err_set(err, ES_EPARSE, "%s: empty trace", path);
    }
    if (fmt == ES_TRACE_AUTO) {
        fmt = detect(line);
        if (fmt == ES_TRACE_AUTO) {
            es_err_set(err, ES_EPARSE, "%s:%" PRIu64 ": cannot detect the trace format (expected a JSON "
                       "object or a CSV header of azure, burstgpt or sharegpt); set the format", path, t->line);
            es_trace_close(t);
            return ES_EPARSE;
        }
    }
    t->fmt = fmt;
    int rc = 0;
    if (fmt == ES_TRACE_MOONCAKE || fmt == ES_TRACE_EPPSIM) {
        /* keep the first data line for the first es_trace_next */
        t->pending = strdup(line);
        t->pending_line = t->line;
        if (!t->pending) rc = es_err_set(err, ES_ENOMEM, "out of memory");
    } else {
        rc = setup_csv(t, line, err);
    }
    if (rc < 0) { es_trace_close(t); return rc; }
    *out = t;
    return 0;
}

void es_trace_close(es_trace_t *t)
{
    if (!t) return;
    if (t->f) fclose(t->f);
    free(t->path);
    free(t->buf);
    free(t->pending);
    free(t->ids);
    free(t->segs);
    free(t->imgs);
    free(t);
}

int es_trace_next(es_trace_t *t, es_trace_rec_t *rec, es_err_t *err)
{
    for (;;) {
        char *line;
        uint64_t lineno;
        if (t->pending) {
            /* swap the read-ahead line into the buffer */
            size_t n = strlen(t->pending) + 1;
            if (!grow((void **)&t->buf, &t->cap, n, 1)) return es_err_set(err, ES_ENOMEM, "out of memory");
            memcpy(t->buf, t->pending, n);
            free(t->pending);
            t->pending = NULL;
            line = t->buf;
            lineno = t->pending_line;
        } else {
            if (read_line(t, &line) < 0) {
                if (ferror(t->f)) return es_err_set(err, ES_EIO, "%s:%" PRIu64 ": read error", t->path, t->line);
                return 0;
            }
            lineno = t->line;
        }
        memset(rec, 0, sizeof *rec);
        rec->line = lineno;
        const char *expect = "a valid record";
        int rc = (t->fmt == ES_TRACE_MOONCAKE || t->fmt == ES_TRACE_EPPSIM)
                     ? parse_json_line(t, line, rec, &expect)
                     : parse_csv_line(t, line, rec, &expect);
        if (rc == -2) return es_err_set(err, ES_ENOMEM, "out of memory");
        if (rc == 0) {
            if (t->fmt == ES_TRACE_MOONCAKE) {
                if (!t->have_t0) { t->have_t0 = true; t->t0 = rec->t; }
                rec->t -= t->t0;
            }
            /* arrivals are replayed in file order: a line earlier than the one
             * before it would be merged into that instant (and stats would
             * report a negative duration) */
            if (rec->has_time && t->have_last && rec->t < t->last_t) {
                if (t->skip_bad) { t->skipped++; continue; }
                return es_err_set(err, ES_EPARSE,
                                  "%s:%" PRIu64 ": timestamp goes back in time (%.6f s, the line before was at "
                                  "%.6f s): a trace must be in time order (sort it, or set trace.skip_bad_lines)",
                                  t->path, lineno, (double)rec->t / 1e9, (double)t->last_t / 1e9);
            }
            if (rec->has_time) { t->have_last = true; t->last_t = rec->t; }
            return 1;
        }
        if (t->skip_bad) { t->skipped++; continue; }
        return es_err_set(err, ES_EPARSE, "%s:%" PRIu64 ": expected %s", t->path, lineno, expect);
    }
}

/* ---- eppsim JSONL writer ---- */

void es_trace_write_eppsim(FILE *f, const es_trace_rec_t *rec, const es_content_t *content)
{
    /* ms with exact ns: integer part and 6 decimals, trailing zeros trimmed */
    char ms[48];
    int64_t t = rec->t;
    int n = snprintf(ms, sizeof ms, "%" PRId64 ".%06" PRId64, t / 1000000, t % 1000000);
    while (n > 0 && ms[n - 1] == '0') ms[--n] = '\0';
    if (n > 0 && ms[n - 1] == '.') ms[--n] = '\0';
    fprintf(f, "{\"arrival_ms\": %s", ms);
    if (rec->path) { fputs(", \"path\": ", f); es_json_write_string(f, rec->path); }
    if (rec->model) { fputs(", \"model\": ", f); es_json_write_string(f, rec->model); }
    if (content && content->nsegs) {
        fputs(", \"segments\": [", f);
        for (uint32_t i = 0; i < content->nsegs; i++)
            fprintf(f, "%s[%" PRIu64 ", %" PRIu32 "]", i ? ", " : "", content->segs[i].id, content->segs[i].len);
        fputc(']', f);
    } else {
        fprintf(f, ", \"input_tokens\": %" PRIu32, rec->input_tokens);
    }
    fprintf(f, ", \"output_tokens\": %" PRIu32, rec->output_tokens);
    if (rec->has_priority) fprintf(f, ", \"priority\": %" PRId32, rec->priority);
    if (rec->objective) { fputs(", \"objective\": ", f); es_json_write_string(f, rec->objective); }
    if (rec->session) { fputs(", \"session\": ", f); es_json_write_string(f, rec->session); }
    if (rec->lora) { fputs(", \"lora\": ", f); es_json_write_string(f, rec->lora); }
    if (rec->has_output_segment) fprintf(f, ", \"output_segment\": %" PRIu64, rec->output_segment);
    if (rec->nheaders) {
        fputs(", \"headers\": {", f);
        for (uint32_t i = 0; i < rec->nheaders; i++) {
            if (i) fputs(", ", f);
            es_json_write_string(f, rec->headers[i].name);
            fputs(": ", f);
            es_json_write_string(f, rec->headers[i].value);
        }
        fputc('}', f);
    }
    fputs("}\n", f);
}
