/* test_crypto.c - known answers and failure behaviour of the crypto module (crypto.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"

/* RFC 8032 section 7.1, TEST 1-3: seed (the RFC's "SECRET KEY"), public key, message,
 * signature. */
struct rfc8032_vector {
    const char *seed;
    const char *pk;
    const char *msg;
    const char *sig;
};

static const struct rfc8032_vector rfc8032[] = {
    { "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
      "",
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
      "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
    { "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
      "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
      "72",
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
      "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
    { "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
      "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
      "af82",
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290"
      "ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
};

#define TYPE "mintrace.v1.BatchEvent"

/* keypair_from_seed_hex builds an mt_keypair the way mt_keypair_load does. */
static void keypair_from_seed_hex(mt_keypair *kp, const char *seed_hex)
{
    unsigned char seed[MT_SEED_LEN];

    assert_int_equal(mt_hex_decode(seed_hex, seed, sizeof(seed)), 0);
    assert_int_equal(crypto_sign_seed_keypair(kp->pk, kp->sk, seed), 0);
    mt_key_id(kp->pk, kp->key_id);
}

/* write_file creates path with mode and the given text. */
static void write_file(const char *path, mode_t mode, const char *text)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

/* ---- fixture: a fresh temporary directory holding key files ---- */

struct keydir {
    char dir[64];
    char key[128]; /* dir/key */
    char pub[128]; /* dir/key.pub */
    char other[128]; /* dir/other */
};

static int keydir_setup(void **state)
{
    struct keydir *kd = calloc(1, sizeof(*kd));

    if (kd == NULL)
        return -1;
    snprintf(kd->dir, sizeof(kd->dir), "/tmp/mt-test-crypto-XXXXXX");
    if (mkdtemp(kd->dir) == NULL) {
        free(kd);
        return -1;
    }
    snprintf(kd->key, sizeof(kd->key), "%s/key", kd->dir);
    snprintf(kd->pub, sizeof(kd->pub), "%s/key.pub", kd->dir);
    snprintf(kd->other, sizeof(kd->other), "%s/other", kd->dir);
    *state = kd;
    return 0;
}

static int keydir_teardown(void **state)
{
    struct keydir *kd = *state;

    unlink(kd->key);
    unlink(kd->pub);
    unlink(kd->other);
    rmdir(kd->dir);
    free(kd);
    return 0;
}

/* ---- known answers ---- */

/* RFC 8032 vectors 1-3: the seed gives the published public key and, over the raw message,
 * the published signature, which raw Ed25519 verification accepts. */
static void test_ed25519_rfc8032_vectors(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++) {
        mt_keypair kp;
        unsigned char pk[MT_PK_LEN], msg[2], sig[MT_SIG_LEN], want[MT_SIG_LEN];
        size_t mlen = strlen(rfc8032[i].msg) / 2;

        keypair_from_seed_hex(&kp, rfc8032[i].seed);
        assert_int_equal(mt_hex_decode(rfc8032[i].pk, pk, sizeof(pk)), 0);
        assert_memory_equal(kp.pk, pk, MT_PK_LEN);
        assert_int_equal(mt_hex_decode(rfc8032[i].msg, msg, mlen), 0);
        assert_int_equal(mt_hex_decode(rfc8032[i].sig, want, sizeof(want)), 0);
        assert_int_equal(crypto_sign_detached(sig, NULL, msg, mlen, kp.sk), 0);
        assert_memory_equal(sig, want, MT_SIG_LEN);
        assert_int_equal(crypto_sign_verify_detached(want, msg, mlen, pk), 0);
        mt_keypair_wipe(&kp);
    }
}

/* mt_sign over an RFC 8032 key signs PAE(type, msg), not the raw message. */
static void test_sign_covers_pae_not_raw_message(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++) {
        mt_keypair kp;
        unsigned char msg[2], sig[MT_SIG_LEN], want[MT_SIG_LEN], raw[MT_SIG_LEN];
        unsigned char pae[128];
        size_t mlen = strlen(rfc8032[i].msg) / 2, plen;

        keypair_from_seed_hex(&kp, rfc8032[i].seed);
        assert_int_equal(mt_hex_decode(rfc8032[i].msg, msg, mlen), 0);
        assert_int_equal(mt_hex_decode(rfc8032[i].sig, raw, sizeof(raw)), 0);
        plen = mt_pae(pae, TYPE, msg, mlen);
        assert_int_equal(plen, mt_pae_len(TYPE, mlen));
        assert_int_equal(crypto_sign_detached(want, NULL, pae, plen, kp.sk), 0);

        assert_int_equal(mt_sign(&kp, TYPE, msg, mlen, sig), 0);
        assert_memory_equal(sig, want, MT_SIG_LEN);
        assert_memory_not_equal(sig, raw, MT_SIG_LEN);
        assert_int_equal(mt_verify(kp.pk, TYPE, msg, mlen, sig), 0);
        assert_int_equal(mt_verify(kp.pk, TYPE, msg, mlen, raw), -1);
        mt_keypair_wipe(&kp);
    }
}

/* Payloads larger than the stack buffer (heap path) sign and verify the same way. */
static void test_sign_large_payload_uses_pae(void **state)
{
    enum { N = 100000 };
    unsigned char *payload = malloc(N), *pae;
    unsigned char sig[MT_SIG_LEN], want[MT_SIG_LEN];
    size_t plen;
    mt_keypair kp;
    (void)state;

    assert_non_null(payload);
    memset(payload, 0xa5, N);
    assert_int_equal(mt_keypair_generate(&kp), 0);
    plen = mt_pae_len(TYPE, N);
    pae = malloc(plen);
    assert_non_null(pae);
    assert_int_equal(mt_pae(pae, TYPE, payload, N), plen);
    assert_int_equal(crypto_sign_detached(want, NULL, pae, plen, kp.sk), 0);
    assert_int_equal(mt_sign(&kp, TYPE, payload, N, sig), 0);
    assert_memory_equal(sig, want, MT_SIG_LEN);
    assert_int_equal(mt_verify(kp.pk, TYPE, payload, N, sig), 0);
    mt_keypair_wipe(&kp);
    free(pae);
    free(payload);
}

/* BLAKE2b-256 of "" matches the published value (b2sum -l 256). */
static void test_hash_empty_known_answer(void **state)
{
    unsigned char h[MT_HASH_LEN];
    char hex[2 * MT_HASH_LEN + 1];
    (void)state;

    mt_hash("", 0, h);
    mt_hex_encode(h, sizeof(h), hex);
    assert_string_equal(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
    mt_hash(NULL, 0, h);
    mt_hex_encode(h, sizeof(h), hex);
    assert_string_equal(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

/* BLAKE2b-256 of "abc" matches the published value (b2sum -l 256). */
static void test_hash_abc_known_answer(void **state)
{
    unsigned char h[MT_HASH_LEN];
    char hex[2 * MT_HASH_LEN + 1];
    (void)state;

    mt_hash("abc", 3, h);
    mt_hex_encode(h, sizeof(h), hex);
    assert_string_equal(hex, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

/* The key id is lowercase hex of the first 16 bytes of BLAKE2b-256(pk) (RFC 8032 key 1). */
static void test_key_id_known_answer(void **state)
{
    unsigned char pk[MT_PK_LEN];
    char id[MT_KEY_ID_LEN + 1];
    (void)state;

    assert_int_equal(mt_hex_decode(rfc8032[0].pk, pk, sizeof(pk)), 0);
    mt_key_id(pk, id);
    assert_string_equal(id, "7849ac3049680be1ef762efe0d36e017");
}

/* PAE of the DSSE spec example is "DSSEv1 29 http://example.com/HelloWorld 11 hello world". */
static void test_pae_dsse_spec_example(void **state)
{
    static const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
    unsigned char out[sizeof(want)];
    (void)state;

    assert_int_equal(mt_pae_len("http://example.com/HelloWorld", 11), sizeof(want) - 1);
    assert_int_equal(mt_pae(out, "http://example.com/HelloWorld", "hello world", 11),
                     sizeof(want) - 1);
    assert_memory_equal(out, want, sizeof(want) - 1);
}

/* PAE of an empty type and empty body is "DSSEv1 0  0 ". */
static void test_pae_empty_type_and_body(void **state)
{
    unsigned char out[16];
    (void)state;

    assert_int_equal(mt_pae(out, "", NULL, 0), 12);
    assert_memory_equal(out, "DSSEv1 0  0 ", 12);
}

/* A body length that cannot be represented makes mt_pae_len return 0. */
static void test_pae_len_overflow_is_zero(void **state)
{
    (void)state;
    assert_int_equal(mt_pae_len(TYPE, SIZE_MAX - 5), 0);
    assert_int_equal(mt_pae_len(NULL, 1), 0);
}

/* ---- verification failures ---- */

/* Flipping any single bit of the payload makes verification fail. */
static void test_verify_fails_on_any_payload_bit_flip(void **state)
{
    unsigned char payload[] = "a small signed payload";
    unsigned char sig[MT_SIG_LEN];
    size_t bit;
    mt_keypair kp;
    (void)state;

    assert_int_equal(mt_keypair_generate(&kp), 0);
    assert_int_equal(mt_sign(&kp, TYPE, payload, sizeof(payload), sig), 0);
    assert_int_equal(mt_verify(kp.pk, TYPE, payload, sizeof(payload), sig), 0);
    for (bit = 0; bit < 8 * sizeof(payload); bit++) {
        payload[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_int_equal(mt_verify(kp.pk, TYPE, payload, sizeof(payload), sig), -1);
        payload[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    mt_keypair_wipe(&kp);
}

/* Flipping any single bit of the signature makes verification fail. */
static void test_verify_fails_on_any_signature_bit_flip(void **state)
{
    static const char payload[] = "payload";
    unsigned char sig[MT_SIG_LEN];
    size_t bit;
    mt_keypair kp;
    (void)state;

    assert_int_equal(mt_keypair_generate(&kp), 0);
    assert_int_equal(mt_sign(&kp, TYPE, payload, sizeof(payload), sig), 0);
    for (bit = 0; bit < 8 * MT_SIG_LEN; bit++) {
        sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_int_equal(mt_verify(kp.pk, TYPE, payload, sizeof(payload), sig), -1);
        sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    assert_int_equal(mt_verify(kp.pk, TYPE, payload, sizeof(payload), sig), 0);
    mt_keypair_wipe(&kp);
}

/* A signature made for one payload type does not verify as another. */
static void test_verify_fails_on_other_payload_type(void **state)
{
    static const char payload[] = "payload";
    unsigned char sig[MT_SIG_LEN];
    mt_keypair kp;
    (void)state;

    assert_int_equal(mt_keypair_generate(&kp), 0);
    assert_int_equal(mt_sign(&kp, TYPE, payload, sizeof(payload), sig), 0);
    assert_int_equal(mt_verify(kp.pk, "mintrace.v1.Attestation", payload, sizeof(payload), sig),
                     -1);
    assert_int_equal(mt_verify(kp.pk, "", payload, sizeof(payload), sig), -1);
    assert_int_equal(mt_verify(kp.pk, TYPE "x", payload, sizeof(payload), sig), -1);
    mt_keypair_wipe(&kp);
}

/* A signature does not verify under another key. */
static void test_verify_fails_with_other_key(void **state)
{
    static const char payload[] = "payload";
    unsigned char sig[MT_SIG_LEN];
    mt_keypair a, b;
    (void)state;

    assert_int_equal(mt_keypair_generate(&a), 0);
    assert_int_equal(mt_keypair_generate(&b), 0);
    assert_int_equal(mt_sign(&a, TYPE, payload, sizeof(payload), sig), 0);
    assert_int_equal(mt_verify(b.pk, TYPE, payload, sizeof(payload), sig), -1);
    mt_keypair_wipe(&a);
    mt_keypair_wipe(&b);
}

/* NULL arguments make sign and verify fail rather than crash. */
static void test_sign_verify_reject_null_arguments(void **state)
{
    unsigned char sig[MT_SIG_LEN];
    mt_keypair kp;
    (void)state;

    assert_int_equal(mt_keypair_generate(&kp), 0);
    assert_int_equal(mt_sign(NULL, TYPE, "x", 1, sig), -1);
    assert_int_equal(mt_sign(&kp, NULL, "x", 1, sig), -1);
    assert_int_equal(mt_sign(&kp, TYPE, NULL, 1, sig), -1);
    assert_int_equal(mt_sign(&kp, TYPE, "x", 1, NULL), -1);
    assert_int_equal(mt_sign(&kp, TYPE, NULL, 0, sig), 0);
    assert_int_equal(mt_verify(kp.pk, TYPE, NULL, 0, sig), 0);
    assert_int_equal(mt_verify(NULL, TYPE, NULL, 0, sig), -1);
    assert_int_equal(mt_verify(kp.pk, NULL, NULL, 0, sig), -1);
    assert_int_equal(mt_verify(kp.pk, TYPE, NULL, 0, NULL), -1);
    mt_keypair_wipe(&kp);
}

/* ---- key files ---- */

/* A saved key pair loads back identical, and its public file loads the same public key. */
static void test_keypair_save_load_round_trip(void **state)
{
    struct keydir *kd = *state;
    mt_keypair kp, back;
    unsigned char pk[MT_PK_LEN];
    char err[256];
    struct stat st;

    assert_int_equal(mt_keypair_generate(&kp), 0);
    assert_int_equal(mt_keypair_save(&kp, kd->key, err, sizeof(err)), 0);
    assert_int_equal(stat(kd->key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(mt_keypair_load(&back, kd->key, err, sizeof(err)), 0);
    assert_memory_equal(back.pk, kp.pk, MT_PK_LEN);
    assert_memory_equal(back.sk, kp.sk, MT_SK_LEN);
    assert_string_equal(back.key_id, kp.key_id);
    assert_int_equal(mt_pubkey_load(pk, kd->pub, err, sizeof(err)), 0);
    assert_memory_equal(pk, kp.pk, MT_PK_LEN);
    mt_keypair_wipe(&kp);
    mt_keypair_wipe(&back);
}

/* The saved files are exactly the documented text formats. */
static void test_keypair_save_writes_documented_format(void **state)
{
    struct keydir *kd = *state;
    mt_keypair kp;
    char want[256], got[256];
    char seed_hex[65], pk_hex[65];
    FILE *fp;
    size_t n;

    keypair_from_seed_hex(&kp, rfc8032[0].seed);
    assert_int_equal(mt_keypair_save(&kp, kd->key, NULL, 0), 0);
    mt_hex_encode(kp.sk, MT_SEED_LEN, seed_hex);
    mt_hex_encode(kp.pk, MT_PK_LEN, pk_hex);

    fp = fopen(kd->key, "r");
    assert_non_null(fp);
    n = fread(got, 1, sizeof(got) - 1, fp);
    got[n] = '\0';
    fclose(fp);
    snprintf(want, sizeof(want), "mintrace-ed25519-secret v1\n%s\n", rfc8032[0].seed);
    assert_string_equal(got, want);
    assert_string_equal(seed_hex, rfc8032[0].seed);

    fp = fopen(kd->pub, "r");
    assert_non_null(fp);
    n = fread(got, 1, sizeof(got) - 1, fp);
    got[n] = '\0';
    fclose(fp);
    snprintf(want, sizeof(want), "mintrace-ed25519-public v1\n%s\n", rfc8032[0].pk);
    assert_string_equal(got, want);
    assert_string_equal(pk_hex, rfc8032[0].pk);
    mt_keypair_wipe(&kp);
}

/* assert_load_refuses_mode checks that load fails on a secret file with mode, and that the
 * message names the file, the mode and the chmod fix. */
static void assert_load_refuses_mode(struct keydir *kd, mode_t mode, const char *mode_text)
{
    mt_keypair kp;
    char err[512];

    assert_int_equal(mt_keypair_generate(&kp), 0);
    assert_int_equal(mt_keypair_save(&kp, kd->key, NULL, 0), 0);
    assert_int_equal(chmod(kd->key, mode), 0);
    memset(err, 0, sizeof(err));
    assert_int_equal(mt_keypair_load(&kp, kd->key, err, sizeof(err)), -1);
    assert_non_null(strstr(err, kd->key));
    assert_non_null(strstr(err, mode_text));
    assert_non_null(strstr(err, "chmod 600"));
    for (size_t i = 0; i < sizeof(kp); i++)
        assert_int_equal(((unsigned char *)&kp)[i], 0);
}

/* Load refuses a world-readable (0644) secret key file, naming it and the fix. */
static void test_keypair_load_refuses_mode_0644(void **state)
{
    assert_load_refuses_mode(*state, 0644, "0644");
}

/* Load refuses a group-readable (0640) secret key file, naming it and the fix. */
static void test_keypair_load_refuses_mode_0640(void **state)
{
    assert_load_refuses_mode(*state, 0640, "0640");
}

/* Load accepts an owner-read-only (0400) secret key file. */
static void test_keypair_load_accepts_mode_0400(void **state)
{
    struct keydir *kd = *state;
    mt_keypair kp;

    assert_int_equal(mt_keypair_generate(&kp), 0);
    assert_int_equal(mt_keypair_save(&kp, kd->key, NULL, 0), 0);
    assert_int_equal(chmod(kd->key, 0400), 0);
    assert_int_equal(mt_keypair_load(&kp, kd->key, NULL, 0), 0);
    mt_keypair_wipe(&kp);
}

/* Load refuses a file with a wrong first line, naming file and line 1. */
static void test_keypair_load_refuses_bad_header(void **state)
{
    struct keydir *kd = *state;
    mt_keypair kp;
    char err[512], want[256];

    write_file(kd->other, 0600, "mintrace-ed25519-public v1\n"
                                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n");
    assert_int_equal(mt_keypair_load(&kp, kd->other, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:1:", kd->other);
    assert_non_null(strstr(err, want));
}

/* Load refuses a seed line that is not 64 hex chars, naming file and line 2 but not the key. */
static void test_keypair_load_refuses_bad_seed_line(void **state)
{
    static const char *const bad[] = {
        "mintrace-ed25519-secret v1\n"
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f6\n", /* 63 */
        "mintrace-ed25519-secret v1\n"
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f6g\n", /* not hex */
        "mintrace-ed25519-secret v1\n"
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\r\n", /* CRLF */
        "mintrace-ed25519-secret v1\n", /* no key */
    };
    struct keydir *kd = *state;
    mt_keypair kp;
    char err[512], want[256];
    size_t i;

    snprintf(want, sizeof(want), "%s:2:", kd->other);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(kd->other, 0600, bad[i]);
        assert_int_equal(mt_keypair_load(&kp, kd->other, err, sizeof(err)), -1);
        assert_non_null(strstr(err, want));
        assert_null(strstr(err, "9d61b19d"));
    }
}

/* Load refuses anything after the key line, naming file and line 3. */
static void test_keypair_load_refuses_trailing_content(void **state)
{
    struct keydir *kd = *state;
    mt_keypair kp;
    char err[512], want[256];

    write_file(kd->other, 0600, "mintrace-ed25519-secret v1\n"
                                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n"
                                "\n");
    assert_int_equal(mt_keypair_load(&kp, kd->other, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:3:", kd->other);
    assert_non_null(strstr(err, want));
}

/* Load accepts a file whose final newline is missing. */
static void test_keypair_load_accepts_missing_final_newline(void **state)
{
    struct keydir *kd = *state;
    mt_keypair kp;
    unsigned char pk[MT_PK_LEN];

    write_file(kd->other, 0600, "mintrace-ed25519-secret v1\n"
                                "9D61B19DEFFD5A60BA844AF492EC2CC44449C5697B326919703BAC031CAE7F60");
    assert_int_equal(mt_keypair_load(&kp, kd->other, NULL, 0), 0);
    assert_int_equal(mt_hex_decode(rfc8032[0].pk, pk, sizeof(pk)), 0);
    assert_memory_equal(kp.pk, pk, MT_PK_LEN);
    assert_string_equal(kp.key_id, "7849ac3049680be1ef762efe0d36e017");
    mt_keypair_wipe(&kp);
}

/* Load of a missing file fails with a message naming it. */
static void test_keypair_load_missing_file_names_it(void **state)
{
    struct keydir *kd = *state;
    mt_keypair kp;
    char err[512];

    assert_int_equal(mt_keypair_load(&kp, kd->other, err, sizeof(err)), -1);
    assert_non_null(strstr(err, kd->other));
}

/* Loading a secret key file as a public key fails on line 1. */
static void test_pubkey_load_refuses_secret_file(void **state)
{
    struct keydir *kd = *state;
    mt_keypair kp;
    unsigned char pk[MT_PK_LEN];
    char err[512], want[256];

    assert_int_equal(mt_keypair_generate(&kp), 0);
    assert_int_equal(mt_keypair_save(&kp, kd->key, NULL, 0), 0);
    assert_int_equal(mt_pubkey_load(pk, kd->key, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:1:", kd->key);
    assert_non_null(strstr(err, want));
    mt_keypair_wipe(&kp);
}

/* Save refuses to overwrite an existing key file and leaves it as it was. */
static void test_keypair_save_refuses_overwrite(void **state)
{
    struct keydir *kd = *state;
    mt_keypair first, second, back;
    char err[512];

    assert_int_equal(mt_keypair_generate(&first), 0);
    assert_int_equal(mt_keypair_generate(&second), 0);
    assert_int_equal(mt_keypair_save(&first, kd->key, NULL, 0), 0);
    assert_int_equal(mt_keypair_save(&second, kd->key, err, sizeof(err)), -1);
    assert_non_null(strstr(err, kd->key));
    assert_int_equal(mt_keypair_load(&back, kd->key, NULL, 0), 0);
    assert_memory_equal(back.pk, first.pk, MT_PK_LEN);
    mt_keypair_wipe(&first);
    mt_keypair_wipe(&second);
    mt_keypair_wipe(&back);
}

/* Save refuses when only the .pub exists, and leaves no secret file behind. */
static void test_keypair_save_refuses_existing_pub(void **state)
{
    struct keydir *kd = *state;
    mt_keypair kp;
    char err[512];

    write_file(kd->pub, 0644, "something else\n");
    assert_int_equal(mt_keypair_generate(&kp), 0);
    assert_int_equal(mt_keypair_save(&kp, kd->key, err, sizeof(err)), -1);
    assert_non_null(strstr(err, kd->pub));
    assert_int_equal(access(kd->key, F_OK), -1);
    mt_keypair_wipe(&kp);
}

/* mt_keypair_wipe zeroes the whole struct and accepts NULL. */
static void test_keypair_wipe_zeroes_everything(void **state)
{
    mt_keypair kp;
    size_t i;
    (void)state;

    assert_int_equal(mt_keypair_generate(&kp), 0);
    mt_keypair_wipe(&kp);
    for (i = 0; i < sizeof(kp); i++)
        assert_int_equal(((unsigned char *)&kp)[i], 0);
    mt_keypair_wipe(NULL);
}

/* ---- hex ---- */

/* Hex encodes lowercase and decodes back to the same bytes. */
static void test_hex_round_trip(void **state)
{
    unsigned char bin[256], back[256];
    char hex[2 * sizeof(bin) + 1];
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)i;
    mt_hex_encode(bin, sizeof(bin), hex);
    assert_int_equal(strlen(hex), 2 * sizeof(bin));
    assert_memory_equal(hex, "000102", 6);
    assert_string_equal(hex + 2 * 0xfa, "fafbfcfdfeff");
    assert_int_equal(mt_hex_decode(hex, back, sizeof(back)), 0);
    assert_memory_equal(back, bin, sizeof(bin));
    assert_int_equal(mt_hex_decode("ABcd", back, 2), 0);
    assert_memory_equal(back, "\xab\xcd", 2);
}

/* Decode refuses wrong lengths, non-hex characters and separators, zeroing the output. */
static void test_hex_decode_rejects_bad_input(void **state)
{
    unsigned char bin[2];
    (void)state;

    memset(bin, 0xff, sizeof(bin));
    assert_int_equal(mt_hex_decode("abc", bin, 2), -1);      /* too short, odd */
    assert_int_equal(bin[0], 0);
    assert_int_equal(mt_hex_decode("abcdef", bin, 2), -1);   /* too long */
    assert_int_equal(mt_hex_decode("abcg", bin, 2), -1);     /* not hex */
    assert_int_equal(mt_hex_decode("ab:c", bin, 2), -1);     /* separator */
    assert_int_equal(mt_hex_decode(" abc", bin, 2), -1);     /* space */
    assert_int_equal(mt_hex_decode("", bin, 2), -1);         /* empty */
    assert_int_equal(mt_hex_decode(NULL, bin, 2), -1);
    assert_int_equal(mt_hex_decode("", bin, 0), 0);          /* nothing wanted, nothing given */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_rfc8032_vectors),
        cmocka_unit_test(test_sign_covers_pae_not_raw_message),
        cmocka_unit_test(test_sign_large_payload_uses_pae),
        cmocka_unit_test(test_hash_empty_known_answer),
        cmocka_unit_test(test_hash_abc_known_answer),
        cmocka_unit_test(test_key_id_known_answer),
        cmocka_unit_test(test_pae_dsse_spec_example),
        cmocka_unit_test(test_pae_empty_type_and_body),
        cmocka_unit_test(test_pae_len_overflow_is_zero),
        cmocka_unit_test(test_verify_fails_on_any_payload_bit_flip),
        cmocka_unit_test(test_verify_fails_on_any_signature_bit_flip),
        cmocka_unit_test(test_verify_fails_on_other_payload_type),
        cmocka_unit_test(test_verify_fails_with_other_key),
        cmocka_unit_test(test_sign_verify_reject_null_arguments),
        cmocka_unit_test_setup_teardown(test_keypair_save_load_round_trip, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(test_keypair_save_writes_documented_format,
                                        keydir_setup, keydir_teardown),
        cmocka_unit_test_setup_teardown(test_keypair_load_refuses_mode_0644, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(test_keypair_load_refuses_mode_0640, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(test_keypair_load_accepts_mode_0400, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(test_keypair_load_refuses_bad_header, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(test_keypair_load_refuses_bad_seed_line, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(test_keypair_load_refuses_trailing_content,
                                        keydir_setup, keydir_teardown),
        cmocka_unit_test_setup_teardown(test_keypair_load_accepts_missing_final_newline,
                                        keydir_setup, keydir_teardown),
        cmocka_unit_test_setup_teardown(test_keypair_load_missing_file_names_it, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(test_pubkey_load_refuses_secret_file, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(test_keypair_save_refuses_overwrite, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test_setup_teardown(test_keypair_save_refuses_existing_pub, keydir_setup,
                                        keydir_teardown),
        cmocka_unit_test(test_keypair_wipe_zeroes_everything),
        cmocka_unit_test(test_hex_round_trip),
        cmocka_unit_test(test_hex_decode_rejects_bad_input),
    };

    if (mt_crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
