/* SHA-256 (FIPS 180-4), for content hashes of source models. */
#ifndef ME_SHA256_H
#define ME_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct me_sha256_ctx {
    uint32_t h[8];
    uint64_t total;      /* bytes hashed so far */
    uint8_t buf[64];
    size_t buf_len;
} me_sha256_ctx;

void me_sha256_init(me_sha256_ctx *s);
void me_sha256_update(me_sha256_ctx *s, const void *data, size_t len);
void me_sha256_final(me_sha256_ctx *s, uint8_t out[32]);
/* One-shot form. */
void me_sha256_digest(const void *data, size_t len, uint8_t out[32]);

#endif
