/* log.h - leveled log lines to stderr, as text or JSON lines, with secrets kept out. */
#ifndef MT_LOG_H
#define MT_LOG_H

#include <stdio.h>

/* MT_PRINTF / MT_SENTINEL let GCC and clang check call sites; other compilers ignore them. */
#if defined(__GNUC__)
#define MT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define MT_SENTINEL __attribute__((sentinel))
#else
#define MT_PRINTF(a, b)
#define MT_SENTINEL
#endif

/* Levels, most severe first: a line is written when its level <= the minimum level set. */
enum mt_log_level {
    MT_LOG_ERROR = 0,
    MT_LOG_WARN = 1,
    MT_LOG_INFO = 2,
    MT_LOG_DEBUG = 3
};

/*
 * Line formats (one record is always one line; stdout is never used):
 *   text: 2026-11-22T18:30:00.123Z mintrace-validate info: message key=value key="v a l"
 *         Control characters in the message and values are escaped (\n, \t, \xNN); values
 *         with spaces, quotes, '=' or backslashes are double-quoted.
 *   json: {"ts":"2026-11-22T18:30:00.123Z","level":"info","prog":"mintrace-validate",
 *          "msg":"message","key":"value"}
 *         Bytes that are not valid UTF-8 become U+FFFD. A field named ts, level, prog or msg
 *         is written as _ts, _level, _prog or _msg.
 * Until mt_log_init() is called: prog "mintrace", text, level info, stream stderr.
 */

/* mt_log_init sets the program name (NULL = "mintrace", truncated at 63 bytes), the format
 * ("text", "json", or NULL for text) and the minimum level. Returns 0, or -1 on an unknown
 * format or level, leaving the settings unchanged. */
int mt_log_init(const char *prog, const char *format, enum mt_log_level min_level);

/* mt_log_set_level changes the minimum level; an out-of-range level is ignored. */
void mt_log_set_level(enum mt_log_level min_level);

/* mt_log_get_level returns the current minimum level. */
enum mt_log_level mt_log_get_level(void);

/* mt_log_level_parse turns "error", "warn", "info" or "debug" (any case) into *lvl. Returns 0,
 * or -1 with *lvl unchanged. */
int mt_log_level_parse(const char *name, enum mt_log_level *lvl);

/* mt_log_level_name returns "error", "warn", "info" or "debug" ("?" if out of range). */
const char *mt_log_level_name(enum mt_log_level lvl);

/* mt_log_set_stream sends lines to fp instead of stderr (for tests); NULL restores stderr.
 * The caller keeps ownership of fp and must not close it while it is set. */
void mt_log_set_stream(FILE *fp);

/* mt_log writes one line with a printf-formatted message. If formatting or memory fails, the
 * line is dropped: logging never fails its caller. */
void mt_log(enum mt_log_level lvl, const char *fmt, ...) MT_PRINTF(2, 3);

/* mt_log_kv writes one line with a fixed message and string fields given as key, value pairs
 * ended by a NULL key, e.g.
 *   mt_log_kv(MT_LOG_WARN, "event rejected", "topic", t, "partition", p, "reason", r, NULL);
 * A NULL value is written as JSON null / text (null). The value of a field whose key
 * mt_log_is_secret_name() flags is written as "[redacted]". Failures drop the line. */
void mt_log_kv(enum mt_log_level lvl, const char *msg, ...) MT_SENTINEL;

/* mt_log_is_secret_name returns 1 if a setting or field called name holds a secret (its name
 * contains, in any case, password, passwd, passphrase, secret, .pem, private, token or
 * credential, or it is sasl.oauthbearer.config or ssl_key), else 0 (also for NULL). Config
 * printers show such values as "[redacted]". */
int mt_log_is_secret_name(const char *name);

#define mt_log_error(...) mt_log(MT_LOG_ERROR, __VA_ARGS__)
#define mt_log_warn(...)  mt_log(MT_LOG_WARN, __VA_ARGS__)
#define mt_log_info(...)  mt_log(MT_LOG_INFO, __VA_ARGS__)
#define mt_log_debug(...) mt_log(MT_LOG_DEBUG, __VA_ARGS__)

#endif /* MT_LOG_H */
