/* crypto.c - BLAKE2b-256 hashing, Ed25519 key files and DSSE v1 signing, all by libsodium. */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/* PAE buffers up to this size live on the stack: signing is on the hot path. */
#define MT_PAE_STACK_MAX 4096

/* A valid key file is 92 bytes; anything past this is refused unread. */
#define MT_KEY_FILE_MAX 512

/* Both headers are the same length, so one buffer size fits either key file. */
_Static_assert(sizeof(MT_SECRET_KEY_HEADER) == sizeof(MT_PUBLIC_KEY_HEADER),
               "key file headers differ in length");

/* set_err formats a message into errstr when the caller gave one. */
#if defined(__GNUC__)
static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#endif

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    va_list ap;

    if (errstr == NULL || errstr_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

int mt_crypto_init(void)
{
    /* sodium_init() is thread-safe and returns 1 when already done. */
    return sodium_init() < 0 ? -1 : 0;
}

void mt_hash(const void *data, size_t len, unsigned char out[MT_HASH_LEN])
{
    if (data == NULL)
        data = "";
    crypto_generichash(out, MT_HASH_LEN, data, len, NULL, 0);
}

void mt_key_id(const unsigned char pk[MT_PK_LEN], char out[MT_KEY_ID_LEN + 1])
{
    unsigned char h[MT_HASH_LEN];

    mt_hash(pk, MT_PK_LEN, h);
    mt_hex_encode(h, MT_KEY_ID_LEN / 2, out);
}

int mt_keypair_generate(mt_keypair *kp)
{
    sodium_memzero(kp, sizeof(*kp));
    if (mt_crypto_init() != 0)
        return -1;
    crypto_sign_keypair(kp->pk, kp->sk);
    mt_key_id(kp->pk, kp->key_id);
    return 0;
}

void mt_keypair_wipe(mt_keypair *kp)
{
    if (kp != NULL)
        sodium_memzero(kp, sizeof(*kp));
}

/* write_all writes len bytes to fd, retrying short writes. Returns 0, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* write_new_file creates path (it must not exist) with mode, writes len bytes and fsyncs.
 * Returns 0, or -1 with errstr set; a file it created is removed again on failure. */
static int write_new_file(const char *path, mode_t mode, const char *buf, size_t len,
                          char *errstr, size_t errstr_size)
{
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            set_err(errstr, errstr_size, "%s: file exists; refusing to overwrite a key file",
                    path);
        else
            set_err(errstr, errstr_size, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    if (write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
        set_err(errstr, errstr_size, "%s: cannot write: %s", path, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        set_err(errstr, errstr_size, "%s: cannot write: %s", path, strerror(errno));
        goto fail;
    }
    return 0;

fail:
    if (fd >= 0)
        close(fd);
    unlink(path);
    return -1;
}

int mt_keypair_save(const mt_keypair *kp, const char *path, char *errstr, size_t errstr_size)
{
    /* header + '\n' + 64 hex + '\n' + NUL */
    char text[sizeof(MT_SECRET_KEY_HEADER) + 2 * MT_SEED_LEN + 2];
    unsigned char seed[MT_SEED_LEN];
    char pub_path[PATH_MAX];
    int n, ret = -1;

    if (kp == NULL || path == NULL) {
        set_err(errstr, errstr_size, "mt_keypair_save: NULL argument");
        return -1;
    }
    n = snprintf(pub_path, sizeof(pub_path), "%s.pub", path);
    if (n < 0 || (size_t)n >= sizeof(pub_path)) {
        set_err(errstr, errstr_size, "%s: path too long", path);
        return -1;
    }

    crypto_sign_ed25519_sk_to_seed(seed, kp->sk);
    memcpy(text, MT_SECRET_KEY_HEADER "\n", sizeof(MT_SECRET_KEY_HEADER));
    mt_hex_encode(seed, sizeof(seed), text + sizeof(MT_SECRET_KEY_HEADER));
    strcat(text, "\n");
    if (write_new_file(path, 0600, text, strlen(text), errstr, errstr_size) != 0)
        goto out;

    memcpy(text, MT_PUBLIC_KEY_HEADER "\n", sizeof(MT_PUBLIC_KEY_HEADER));
    mt_hex_encode(kp->pk, MT_PK_LEN, text + sizeof(MT_PUBLIC_KEY_HEADER));
    strcat(text, "\n");
    if (write_new_file(pub_path, 0644, text, strlen(text), errstr, errstr_size) != 0) {
        unlink(path);
        goto out;
    }
    ret = 0;

out:
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(text, sizeof(text));
    return ret;
}

/* read_key_file reads the whole of a small key file at path into buf (NUL-terminated, *len
 * bytes). When secret is set it refuses a file whose mode lets group or other in. Returns 0,
 * or -1 with errstr set. */
static int read_key_file(const char *path, int secret, char *buf, size_t cap, size_t *len,
                         char *errstr, size_t errstr_size)
{
    struct stat st;
    size_t got = 0;
    int ret = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        set_err(errstr, errstr_size, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        set_err(errstr, errstr_size, "%s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(errstr, errstr_size, "%s: not a regular file", path);
        goto out;
    }
    if (secret && (st.st_mode & 077) != 0) {
        set_err(errstr, errstr_size,
                "%s: secret key file has mode %04o, which lets group or other read it; "
                "fix with: chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            set_err(errstr, errstr_size, "%s: cannot read: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == cap - 1) {
            set_err(errstr, errstr_size, "%s: too large for a key file", path);
            goto out;
        }
    }
    buf[got] = '\0';
    *len = got;
    ret = 0;

out:
    close(fd);
    return ret;
}

/* parse_key_file checks that buf (len bytes) is header, '\n', 64 hex chars, optional '\n',
 * and decodes the hex into out (32 bytes). Returns 0, or -1 with errstr naming path and line;
 * the key material itself is never quoted. */
static int parse_key_file(const char *path, const char *buf, size_t len, const char *header,
                          unsigned char out[32], char *errstr, size_t errstr_size)
{
    size_t hlen = strlen(header);
    const char *line2, *end;
    char hex[2 * 32 + 1];
    size_t hexlen;
    int ret = -1;

    if (len < hlen + 1 || memcmp(buf, header, hlen) != 0 || buf[hlen] != '\n') {
        set_err(errstr, errstr_size, "%s:1: expected \"%s\"", path, header);
        return -1;
    }
    line2 = buf + hlen + 1;
    end = memchr(line2, '\n', len - (size_t)(line2 - buf));
    hexlen = end != NULL ? (size_t)(end - line2) : len - (size_t)(line2 - buf);
    if (hexlen != 2 * 32) {
        set_err(errstr, errstr_size, "%s:2: expected 64 hex characters", path);
        return -1;
    }
    memcpy(hex, line2, hexlen);
    hex[hexlen] = '\0';
    if (mt_hex_decode(hex, out, 32) != 0) {
        set_err(errstr, errstr_size, "%s:2: expected 64 hex characters", path);
        goto out;
    }
    if (end != NULL && (size_t)(end + 1 - buf) != len) {
        set_err(errstr, errstr_size, "%s:3: unexpected content after the key", path);
        goto out;
    }
    ret = 0;

out:
    if (ret != 0)
        sodium_memzero(out, 32);
    sodium_memzero(hex, sizeof(hex));
    return ret;
}

int mt_keypair_load(mt_keypair *kp, const char *path, char *errstr, size_t errstr_size)
{
    char buf[MT_KEY_FILE_MAX];
    unsigned char seed[MT_SEED_LEN];
    size_t len = 0;
    int ret = -1;

    if (kp == NULL || path == NULL) {
        set_err(errstr, errstr_size, "mt_keypair_load: NULL argument");
        return -1;
    }
    sodium_memzero(kp, sizeof(*kp));
    if (mt_crypto_init() != 0) {
        set_err(errstr, errstr_size, "%s: libsodium failed to initialise", path);
        return -1;
    }
    if (read_key_file(path, 1, buf, sizeof(buf), &len, errstr, errstr_size) != 0)
        goto out;
    if (parse_key_file(path, buf, len, MT_SECRET_KEY_HEADER, seed, errstr, errstr_size) != 0)
        goto out;
    if (crypto_sign_seed_keypair(kp->pk, kp->sk, seed) != 0) {
        set_err(errstr, errstr_size, "%s: cannot derive a key pair from the seed", path);
        goto out;
    }
    mt_key_id(kp->pk, kp->key_id);
    ret = 0;

out:
    if (ret != 0)
        sodium_memzero(kp, sizeof(*kp));
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(buf, sizeof(buf));
    return ret;
}

int mt_pubkey_load(unsigned char pk[MT_PK_LEN], const char *path, char *errstr,
                   size_t errstr_size)
{
    char buf[MT_KEY_FILE_MAX];
    size_t len = 0;

    if (pk == NULL || path == NULL) {
        set_err(errstr, errstr_size, "mt_pubkey_load: NULL argument");
        return -1;
    }
    memset(pk, 0, MT_PK_LEN);
    if (read_key_file(path, 0, buf, sizeof(buf), &len, errstr, errstr_size) != 0)
        return -1;
    return parse_key_file(path, buf, len, MT_PUBLIC_KEY_HEADER, pk, errstr, errstr_size);
}

/* put_decimal appends v in ASCII decimal at out and returns the digit count. out may be NULL
 * to only count. */
static size_t put_decimal(unsigned char *out, size_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%zu", v);

    if (out != NULL)
        memcpy(out, tmp, (size_t)n);
    return (size_t)n;
}

size_t mt_pae_len(const char *type, size_t body_len)
{
    size_t tlen, fixed;

    if (type == NULL)
        return 0;
    tlen = strlen(type);
    /* "DSSEv1" + 4 spaces + both lengths' digits + type */
    fixed = 6 + 4 + put_decimal(NULL, tlen) + put_decimal(NULL, body_len);
    if (tlen > SIZE_MAX - fixed || body_len > SIZE_MAX - fixed - tlen)
        return 0;
    return fixed + tlen + body_len;
}

size_t mt_pae(unsigned char *out, const char *type, const void *body, size_t body_len)
{
    size_t total = mt_pae_len(type, body_len);
    size_t tlen, off = 0;

    if (total == 0 || out == NULL)
        return 0;
    tlen = strlen(type);
    memcpy(out, "DSSEv1 ", 7);
    off = 7;
    off += put_decimal(out + off, tlen);
    out[off++] = ' ';
    memcpy(out + off, type, tlen);
    off += tlen;
    out[off++] = ' ';
    off += put_decimal(out + off, body_len);
    out[off++] = ' ';
    if (body_len > 0)
        memcpy(out + off, body, body_len);
    off += body_len;
    return off;
}

/* pae_build puts PAE(type, body) in stack (MT_PAE_STACK_MAX bytes) when it fits, else in a
 * fresh heap buffer stored in *heap. Returns the PAE pointer and its length in *len, or NULL
 * on a NULL argument, overflow or no memory. */
static unsigned char *pae_build(unsigned char *stack, unsigned char **heap, const char *type,
                                const void *body, size_t body_len, size_t *len)
{
    size_t need;
    unsigned char *out = stack;

    *heap = NULL;
    if (body == NULL && body_len > 0)
        return NULL;
    need = mt_pae_len(type, body_len);
    if (need == 0)
        return NULL;
    if (need > MT_PAE_STACK_MAX) {
        *heap = malloc(need);
        if (*heap == NULL)
            return NULL;
        out = *heap;
    }
    *len = mt_pae(out, type, body, body_len);
    return out;
}

int mt_sign(const mt_keypair *kp, const char *payload_type, const void *payload, size_t len,
            unsigned char sig[MT_SIG_LEN])
{
    unsigned char stack[MT_PAE_STACK_MAX];
    unsigned char *heap = NULL, *m;
    size_t mlen = 0;
    int ret = -1;

    if (sig == NULL)
        return -1;
    memset(sig, 0, MT_SIG_LEN);
    if (kp == NULL)
        return -1;
    m = pae_build(stack, &heap, payload_type, payload, len, &mlen);
    if (m == NULL)
        goto out;
    if (crypto_sign_detached(sig, NULL, m, mlen, kp->sk) != 0) {
        memset(sig, 0, MT_SIG_LEN);
        goto out;
    }
    ret = 0;

out:
    free(heap);
    return ret;
}

int mt_verify(const unsigned char pk[MT_PK_LEN], const char *payload_type, const void *payload,
              size_t len, const unsigned char sig[MT_SIG_LEN])
{
    unsigned char stack[MT_PAE_STACK_MAX];
    unsigned char *heap = NULL, *m;
    size_t mlen = 0;
    int ret = -1;

    if (pk == NULL || sig == NULL)
        return -1;
    m = pae_build(stack, &heap, payload_type, payload, len, &mlen);
    if (m == NULL)
        goto out;
    if (crypto_sign_verify_detached(sig, m, mlen, pk) == 0)
        ret = 0;

out:
    free(heap);
    return ret;
}

void mt_hex_encode(const void *bin, size_t len, char *out)
{
    /* sodium_bin2hex is constant-time: fine for seeds. */
    sodium_bin2hex(out, 2 * len + 1, bin, len);
}

int mt_hex_decode(const char *hex, void *bin, size_t bin_len)
{
    size_t hex_len, got = 0;
    const char *end = NULL;

    if (hex == NULL || bin == NULL || bin_len > SIZE_MAX / 2)
        goto bad;
    hex_len = strnlen(hex, 2 * bin_len + 1);
    if (hex_len != 2 * bin_len)
        goto bad;
    if (sodium_hex2bin(bin, bin_len, hex, hex_len, NULL, &got, &end) != 0 || got != bin_len ||
        end != hex + hex_len)
        goto bad;
    return 0;

bad:
    if (bin != NULL)
        sodium_memzero(bin, bin_len);
    return -1;
}

void mt_sha256(const void *data, size_t len, unsigned char out[MT_HASH_LEN]) {
    crypto_hash_sha256(out, data, (unsigned long long)len);
}

void mt_base64_encode(const void *bin, size_t len, char *out, size_t out_size) {
    sodium_bin2base64(out, out_size, bin, len, sodium_base64_VARIANT_ORIGINAL);
}

unsigned char *mt_base64_decode(const char *b64, size_t *len) {
    size_t n = strlen(b64);
    unsigned char *bin = malloc(n / 4 * 3 + 3);
    if (!bin || sodium_base642bin(bin, n / 4 * 3 + 3, b64, n, NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL)) {
        free(bin);
        return NULL;
    }
    return bin;
}

uint64_t mt_shorthash(const void *data, size_t len) {
    static unsigned char key[crypto_shorthash_KEYBYTES];
    static int have_key;
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h = 0;
    if (!have_key) { /* one writer at start-up; the ledger runs on one thread */
        mt_crypto_init();
        randombytes_buf(key, sizeof(key));
        have_key = 1;
    }
    crypto_shorthash(out, data, (unsigned long long)len, key);
    for (int i = 0; i < 8; i++) h = h << 8 | out[i];
    return h;
}

int mt_keypair_from_seed(mt_keypair *kp, const unsigned char seed[MT_SEED_LEN]) {
    if (mt_crypto_init() || crypto_sign_seed_keypair(kp->pk, kp->sk, seed) != 0) {
        sodium_memzero(kp, sizeof(*kp));
        return -1;
    }
    mt_key_id(kp->pk, kp->key_id);
    return 0;
}

/* ---- BLAKE2b-256 in pieces ---- */

_Static_assert(sizeof(crypto_generichash_state) <= sizeof(((mt_hash_state *)0)->opaque),
               "mt_hash_state too small for libsodium's state");

void mt_hash_init(mt_hash_state *st) {
    crypto_generichash_init((crypto_generichash_state *)(void *)st->opaque, NULL, 0, MT_HASH_LEN);
}

void mt_hash_update(mt_hash_state *st, const void *data, size_t len) {
    crypto_generichash_update((crypto_generichash_state *)(void *)st->opaque, data, len);
}

void mt_hash_final(mt_hash_state *st, unsigned char out[MT_HASH_LEN]) {
    crypto_generichash_final((crypto_generichash_state *)(void *)st->opaque, out, MT_HASH_LEN);
}
