/* SHA-256 against the FIPS 180-4 / NIST example vectors. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/sha256.h"

static void hex(const uint8_t d[32], char out[65]) {
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void check_vec(const char *msg, size_t len, const char *want) {
    uint8_t d[32];
    char h[65];
    me_sha256_digest(msg, len, d);
    hex(d, h);
    CHECK(strcmp(h, want) == 0);
    if (strcmp(h, want) != 0) fprintf(stderr, "  got %s\n  want %s\n", h, want);
    /* the same message fed in uneven pieces */
    me_sha256_ctx s;
    me_sha256_init(&s);
    size_t pos = 0, step = 1;
    while (pos < len) {
        size_t k = len - pos < step ? len - pos : step;
        me_sha256_update(&s, msg + pos, k);
        pos += k;
        step = step * 3 + 1;
    }
    me_sha256_final(&s, d);
    hex(d, h);
    CHECK(strcmp(h, want) == 0);
}

int main(void) {
    check_vec("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_vec("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_vec(m2, strlen(m2), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m3 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    check_vec(m3, strlen(m3), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    static char million[1000000];
    memset(million, 'a', sizeof million);
    check_vec(million, sizeof million, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* 55, 56 and 64 bytes: the padding boundaries */
    char buf[64];
    memset(buf, 'a', sizeof buf);
    check_vec(buf, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    check_vec(buf, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    check_vec(buf, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    return check_exit();
}
