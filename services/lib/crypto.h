/* crypto.h - the project's only door to libsodium: hashing, Ed25519 keys, DSSE signing. */
#ifndef MT_CRYPTO_H
#define MT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define MT_HASH_LEN   32 /* BLAKE2b-256 digest bytes */
#define MT_SIG_LEN    64 /* Ed25519 signature bytes */
#define MT_PK_LEN     32 /* Ed25519 public key bytes */
#define MT_SK_LEN     64 /* libsodium Ed25519 secret key bytes (seed || public key) */
#define MT_SEED_LEN   32 /* Ed25519 seed bytes: what the secret key file stores */
#define MT_KEY_ID_LEN 32 /* key id hex chars; buffers need MT_KEY_ID_LEN + 1 for the NUL */

/*
 * Key files are text, one item a line, each line ending in "\n":
 *
 *   secret (mode 0600, refused by mt_keypair_load if group or other may access it):
 *     mintrace-ed25519-secret v1
 *     <64 hex chars: the 32-byte Ed25519 seed>
 *
 *   public (PATH.pub, mode 0644):
 *     mintrace-ed25519-public v1
 *     <64 hex chars: the 32-byte Ed25519 public key>
 *
 * Hex is written lowercase; either case is accepted on load. The final newline may be missing;
 * nothing else may differ.
 */
#define MT_SECRET_KEY_HEADER "mintrace-ed25519-secret v1"
#define MT_PUBLIC_KEY_HEADER "mintrace-ed25519-public v1"

/* mt_keypair is an Ed25519 key pair. Wipe it with mt_keypair_wipe() when done. */
typedef struct mt_keypair {
    unsigned char pk[MT_PK_LEN];       /* public key */
    unsigned char sk[MT_SK_LEN];       /* libsodium secret key: seed || pk */
    char key_id[MT_KEY_ID_LEN + 1];    /* mt_key_id(pk), NUL-terminated */
} mt_keypair;

/* mt_crypto_init initialises libsodium. Idempotent and safe to call from several threads.
 * Call it once at start-up; mt_keypair_generate() and mt_keypair_load() call it themselves.
 * Returns 0, or -1 if libsodium cannot initialise (no usable randomness source). */
int mt_crypto_init(void);

/* mt_hash writes BLAKE2b-256 (unkeyed) of data to out. Event ids are this over the signed
 * payload. data may be NULL when len is 0. Cannot fail. */
void mt_hash(const void *data, size_t len, unsigned char out[MT_HASH_LEN]);

/* mt_sha256 writes SHA-256 of data to out: the hash of the journal's Merkle tree (RFC 9162),
 * so standard tooling can check proofs. Cannot fail. */
void mt_sha256(const void *data, size_t len, unsigned char out[MT_HASH_LEN]);

/* mt_shorthash returns SipHash-2-4 of data under a key drawn at random once per process: for
 * hash tables keyed by untrusted ids (batch ids), so nobody can aim collisions at them. */
uint64_t mt_shorthash(const void *data, size_t len);

/* mt_key_id writes the lowercase hex of the first 16 bytes of BLAKE2b-256(pk), NUL-terminated,
 * to out. Cannot fail. */
void mt_key_id(const unsigned char pk[MT_PK_LEN], char out[MT_KEY_ID_LEN + 1]);

/* mt_keypair_generate fills kp with a fresh random key pair. Returns 0, or -1 if libsodium
 * cannot initialise (kp is then zeroed). */
int mt_keypair_generate(mt_keypair *kp);

/* mt_keypair_from_seed derives a key pair from a 32-byte seed: the same seed always gives the
 * same key (for the simulator and tests; real keys come from mt_keypair_generate). Returns 0,
 * or -1 if libsodium cannot initialise. */
int mt_keypair_from_seed(mt_keypair *kp, const unsigned char seed[MT_SEED_LEN]);

/* mt_keypair_save writes kp's secret key file at path (created new, mode 0600) and its public
 * key file at path + ".pub" (created new, mode 0644 less the umask), each fsync()ed. It never
 * overwrites: if either file exists it fails. On failure it returns -1 with a message in
 * errstr (may be NULL), and removes any file it created. */
int mt_keypair_save(const mt_keypair *kp, const char *path, char *errstr, size_t errstr_size);

/* mt_keypair_load reads the secret key file at path and derives the whole key pair from its
 * seed. It refuses a file that group or other may access (mode & 077), naming the file, its
 * mode and the fix, and a malformed file, naming file and line. On failure it returns -1 with a
 * message in errstr (may be NULL) and kp is zeroed. Key material never appears in messages. */
int mt_keypair_load(mt_keypair *kp, const char *path, char *errstr, size_t errstr_size);

/* mt_pubkey_load reads a public key file (the ".pub" itself) into pk. On failure it returns
 * -1 with a message naming file (and line, if malformed) in errstr (may be NULL); pk is then
 * zeroed. */
int mt_pubkey_load(unsigned char pk[MT_PK_LEN], const char *path, char *errstr,
                   size_t errstr_size);

/* mt_keypair_wipe zeroes the whole of *kp with sodium_memzero. kp may be NULL. */
void mt_keypair_wipe(mt_keypair *kp);

/* mt_pae_len returns the byte length of PAE(type, body) for a body of body_len bytes, or 0 if
 * type is NULL or the length does not fit in a size_t. */
size_t mt_pae_len(const char *type, size_t body_len);

/* mt_pae writes the DSSE v1 pre-authentication encoding
 *   "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 * (LEN = ASCII decimal byte length, SP = one space, no NUL terminator) to out, which must hold
 * mt_pae_len(type, body_len) bytes. body may be NULL when body_len is 0. Returns the number of
 * bytes written, or 0 if mt_pae_len() would return 0 (nothing is written then). */
size_t mt_pae(unsigned char *out, const char *type, const void *body, size_t body_len);

/* mt_sign writes the Ed25519 detached signature of PAE(payload_type, payload) by kp to sig.
 * Payloads up to a few KiB use no heap. Returns 0, or -1 (sig zeroed) on a NULL argument, a
 * length overflow or an allocation failure. */
int mt_sign(const mt_keypair *kp, const char *payload_type, const void *payload, size_t len,
            unsigned char sig[MT_SIG_LEN]);

/* mt_verify checks that sig is pk's Ed25519 signature of PAE(payload_type, payload). Returns 0
 * if it is, -1 if it is not or cannot be checked (NULL argument, overflow, no memory). */
int mt_verify(const unsigned char pk[MT_PK_LEN], const char *payload_type, const void *payload,
              size_t len, const unsigned char sig[MT_SIG_LEN]);

/* mt_hex_encode writes len bytes of bin as lowercase hex plus a NUL to out, which must hold
 * 2 * len + 1 chars. Cannot fail. */
void mt_hex_encode(const void *bin, size_t len, char *out);

/* mt_base64_encode writes len bytes of bin as standard base64 with padding plus a NUL to out,
 * which must hold 4 * ((len + 2) / 3) + 1 chars (the JSON form of protobuf bytes). */
void mt_base64_encode(const void *bin, size_t len, char *out, size_t out_size);

/* mt_base64_decode decodes standard, padded base64 (nothing else: no spaces) into a new buffer
 * (free()) and its length into *len. NULL when b64 is not base64 or out of memory. */
unsigned char *mt_base64_decode(const char *b64, size_t *len);

/* mt_hex_decode decodes hex into bin_len bytes at bin. Returns 0 when hex is exactly
 * 2 * bin_len hex digits (either case) and nothing else; otherwise -1, with bin zeroed. */
int mt_hex_decode(const char *hex, void *bin, size_t bin_len);

/* A BLAKE2b-256 over data given in pieces (archive files): init, update as often as needed,
 * final. The state is opaque; nothing to release. */
typedef struct mt_hash_state {
    _Alignas(64) unsigned char opaque[384];
} mt_hash_state;
void mt_hash_init(mt_hash_state *st);
void mt_hash_update(mt_hash_state *st, const void *data, size_t len);
void mt_hash_final(mt_hash_state *st, unsigned char out[MT_HASH_LEN]);

#endif /* MT_CRYPTO_H */
