/* log.c - leveled log lines to stderr, as text or JSON lines, one write per line. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* The settings; all but the level are read and written under log_lock. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_prog[64] = "mintrace";
static int log_json;
static FILE *log_stream; /* NULL: stderr */
static atomic_int log_level = MT_LOG_INFO;

static int level_valid(enum mt_log_level lvl)
{
    return (int)lvl >= (int)MT_LOG_ERROR && (int)lvl <= (int)MT_LOG_DEBUG;
}

int mt_log_init(const char *prog, const char *format, enum mt_log_level min_level)
{
    int json;

    if (format == NULL || strcmp(format, "text") == 0)
        json = 0;
    else if (strcmp(format, "json") == 0)
        json = 1;
    else
        return -1;
    if (!level_valid(min_level))
        return -1;

    pthread_mutex_lock(&log_lock);
    snprintf(log_prog, sizeof(log_prog), "%s", prog != NULL ? prog : "mintrace");
    log_json = json;
    pthread_mutex_unlock(&log_lock);
    atomic_store(&log_level, (int)min_level);
    return 0;
}

void mt_log_set_level(enum mt_log_level min_level)
{
    if (level_valid(min_level))
        atomic_store(&log_level, (int)min_level);
}

enum mt_log_level mt_log_get_level(void)
{
    return (enum mt_log_level)atomic_load(&log_level);
}

int mt_log_level_parse(const char *name, enum mt_log_level *lvl)
{
    size_t i;

    if (name == NULL || lvl == NULL)
        return -1;
    for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *lvl = (enum mt_log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *mt_log_level_name(enum mt_log_level lvl)
{
    return level_valid(lvl) ? level_names[lvl] : "?";
}

void mt_log_set_stream(FILE *fp)
{
    pthread_mutex_lock(&log_lock);
    log_stream = fp;
    pthread_mutex_unlock(&log_lock);
}

int mt_log_is_secret_name(const char *name)
{
    static const char *const parts[] = {
        "password", "passwd", "passphrase", "secret", ".pem", "private", "token", "credential",
    };
    static const char *const exact[] = { "sasl.oauthbearer.config", "ssl_key" };
    size_t i;

    if (name == NULL)
        return 0;
    for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (strcasestr(name, parts[i]) != NULL)
            return 1;
    for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcasecmp(name, exact[i]) == 0)
            return 1;
    return 0;
}

/* format_time writes the current UTC time as 2026-11-22T18:30:00.123Z. */
static void format_time(char *out, size_t size)
{
    struct timespec now;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, size - n, ".%03dZ", (int)(now.tv_nsec / 1000000));
}

/* ---- text lines ---- */

/* text_needs_quotes says whether a field value must be double-quoted to stay one token. */
static int text_needs_quotes(const char *s)
{
    if (*s == '\0')
        return 1;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == 0x7f || c == '"' || c == '=' || c == '\\')
            return 1;
    }
    return 0;
}

/* text_put writes s with control characters escaped; quoted also escapes '"' and '\\'. */
static void text_put(FILE *m, const char *s, int quoted)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            fputs("\\n", m);
        else if (c == '\r')
            fputs("\\r", m);
        else if (c == '\t')
            fputs("\\t", m);
        else if (c < ' ' || c == 0x7f)
            fprintf(m, "\\x%02x", c);
        else if (quoted && (c == '"' || c == '\\'))
            fprintf(m, "\\%c", c);
        else
            fputc(c, m);
    }
}

/* text_value writes one field value, quoted when needed. */
static void text_value(FILE *m, const char *v)
{
    if (!text_needs_quotes(v)) {
        fputs(v, m);
        return;
    }
    fputc('"', m);
    text_put(m, v, 1);
    fputc('"', m);
}

/* text_line builds a text line in a fresh buffer. Returns it (free() it), or NULL. */
static char *text_line(const char *ts, const char *prog, enum mt_log_level lvl,
                       const char *msg, va_list *kv, size_t *len)
{
    char *buf = NULL;
    const char *key;
    FILE *m = open_memstream(&buf, len);

    if (m == NULL)
        return NULL;
    fprintf(m, "%s %s %s: ", ts, prog, level_names[lvl]);
    text_put(m, msg, 0);
    while (kv != NULL && (key = va_arg(*kv, const char *)) != NULL) {
        const char *val = va_arg(*kv, const char *);
        fputc(' ', m);
        text_put(m, key, 0);
        fputc('=', m);
        if (val == NULL)
            fputs("(null)", m);
        else if (mt_log_is_secret_name(key))
            fputs("[redacted]", m);
        else
            text_value(m, val);
    }
    fputc('\n', m);
    if (fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- JSON lines ---- */

/* utf8_valid_len returns the length of the valid UTF-8 sequence starting at s, or 0 if none
 * (overlong forms, surrogates and code points above U+10FFFF are invalid, as for jansson). */
static size_t utf8_valid_len(const unsigned char *s)
{
    unsigned char c = s[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

/* utf8_sanitize returns a copy of s with each invalid byte replaced by U+FFFD, or NULL. */
static char *utf8_sanitize(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out = malloc(3 * strlen(s) + 1);
    size_t o = 0;

    if (out == NULL)
        return NULL;
    while (*p != '\0') {
        size_t n = utf8_valid_len(p);
        if (n == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            p++;
        } else {
            memcpy(out + o, p, n);
            o += n;
            p += n;
        }
    }
    out[o] = '\0';
    return out;
}

/* json_set puts key: val (NULL val: null) into obj, repairing invalid UTF-8 in either.
 * Returns 0, or -1 on no memory. */
static int json_set(json_t *obj, const char *key, const char *val)
{
    char *fixed_key = NULL, *fixed_val = NULL;
    json_t *jv;
    int ret = -1;

    if (val == NULL) {
        jv = json_null();
    } else if ((jv = json_string(val)) == NULL) {
        fixed_val = utf8_sanitize(val);
        if (fixed_val == NULL || (jv = json_string(fixed_val)) == NULL)
            goto out;
    }
    if (json_object_set_new(obj, key, jv) == 0) {
        ret = 0;
        goto out;
    }
    /* json_object_set_new consumed jv even on failure; the key must be bad UTF-8. */
    fixed_key = utf8_sanitize(key);
    if (fixed_key == NULL)
        goto out;
    jv = val == NULL ? json_null() : json_string(fixed_val != NULL ? fixed_val : val);
    if (json_object_set_new(obj, fixed_key, jv) == 0)
        ret = 0;

out:
    free(fixed_key);
    free(fixed_val);
    return ret;
}

/* json_line builds a JSON line in a fresh buffer. Returns it (free() it), or NULL. */
static char *json_line(const char *ts, const char *prog, enum mt_log_level lvl,
                       const char *msg, va_list *kv, size_t *len)
{
    json_t *obj = json_object();
    char *dump = NULL, *line = NULL;
    const char *key;
    char renamed[128];

    if (obj == NULL)
        return NULL;
    if (json_set(obj, "ts", ts) != 0 || json_set(obj, "level", level_names[lvl]) != 0 ||
        json_set(obj, "prog", prog) != 0 || json_set(obj, "msg", msg) != 0)
        goto out;
    while (kv != NULL && (key = va_arg(*kv, const char *)) != NULL) {
        const char *val = va_arg(*kv, const char *);
        if (val != NULL && mt_log_is_secret_name(key))
            val = "[redacted]";
        if (strcmp(key, "ts") == 0 || strcmp(key, "level") == 0 ||
            strcmp(key, "prog") == 0 || strcmp(key, "msg") == 0) {
            snprintf(renamed, sizeof(renamed), "_%s", key);
            key = renamed;
        }
        if (json_set(obj, key, val) != 0)
            goto out;
    }
    dump = json_dumps(obj, JSON_COMPACT);
    if (dump == NULL)
        goto out;
    *len = strlen(dump) + 1;
    line = malloc(*len + 1);
    if (line == NULL)
        goto out;
    memcpy(line, dump, *len - 1);
    line[*len - 1] = '\n';
    line[*len] = '\0';

out:
    free(dump);
    json_decref(obj);
    return line;
}

/* emit builds and writes one line; kv (may be NULL) holds key, value pairs ending in NULL. */
static void emit(enum mt_log_level lvl, const char *msg, va_list *kv)
{
    char ts[48];
    char *line;
    size_t len = 0;
    FILE *fp;

    format_time(ts, sizeof(ts));
    pthread_mutex_lock(&log_lock);
    if (log_json)
        line = json_line(ts, log_prog, lvl, msg, kv, &len);
    else
        line = text_line(ts, log_prog, lvl, msg, kv, &len);
    if (line != NULL) {
        fp = log_stream != NULL ? log_stream : stderr;
        fwrite(line, 1, len, fp);
        fflush(fp);
    }
    pthread_mutex_unlock(&log_lock);
    free(line);
}

void mt_log(enum mt_log_level lvl, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    int n;

    if (!level_valid(lvl) || (int)lvl > atomic_load(&log_level) || fmt == NULL)
        return;
    va_start(ap, fmt);
    n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    emit(lvl, msg, NULL);
    free(msg);
}

void mt_log_kv(enum mt_log_level lvl, const char *msg, ...)
{
    va_list ap;

    if (!level_valid(lvl) || (int)lvl > atomic_load(&log_level) || msg == NULL)
        return;
    va_start(ap, msg);
    emit(lvl, msg, &ap);
    va_end(ap);
}
