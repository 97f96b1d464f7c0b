/* bench_verify — the reference for the auditor's speed: raw libsodium Ed25519 verifications per
 * second, on one core and on all of them, over messages the size of a DSSE-encoded event. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

enum { MSG_LEN = 700 }; /* PAE("mintrace.v1.BatchEvent", a typical event): ~0.5-1 KiB */

static unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
static unsigned char msg[MSG_LEN], sig[crypto_sign_BYTES];
static long per_thread;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *verify_loop(void *arg) {
    long *bad = arg;
    for (long i = 0; i < per_thread; i++)
        if (crypto_sign_verify_detached(sig, msg, MSG_LEN, pk) != 0) (*bad)++;
    return NULL;
}

/* Verifications per second with n threads. */
static double rate(int n) {
    pthread_t t[64];
    long bad[64] = {0};
    double t0 = now();
    for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, verify_loop, &bad[i]);
    for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
    double dt = now() - t0;
    for (int i = 0; i < n; i++)
        if (bad[i]) {
            fprintf(stderr, "bench_verify: a good signature failed to verify\n");
            exit(1);
        }
    return (double)per_thread * n / dt;
}

int main(int argc, char **argv) {
    per_thread = argc > 1 ? atol(argv[1]) : 20000;
    if (sodium_init() < 0) return 1;
    crypto_sign_keypair(pk, sk);
    randombytes_buf(msg, sizeof(msg));
    crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    if (cores > 64) cores = 64;
    printf("verify_1 %.0f\nverify_all %.0f\ncores %ld\n", rate(1), rate((int)cores), cores);
    return 0;
}
