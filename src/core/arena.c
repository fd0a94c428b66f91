#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct me_arena_block {
    me_arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define ARENA_BLOCK_MIN (64 * 1024)

void me_arena_init(me_arena *a) { memset(a, 0, sizeof *a); }

void me_arena_free(me_arena *a) {
    me_arena_block *b = a->head;
    while (b) {
        me_arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
    a->total = 0;
}

void *me_arena_alloc(me_arena *a, size_t size) {
    size_t sz = me_align_up(size ? size : 1, 16);
    if (sz < size) return NULL;
    if (a->limit && (a->total + sz > a->limit || a->total + sz < a->total)) return NULL;
    me_arena_block *b = a->head;
    if (!b || b->cap - b->used < sz) {
        size_t cap = sz > ARENA_BLOCK_MIN ? sz : ARENA_BLOCK_MIN;
        size_t bytes;
        if (!me_add_size(sizeof(me_arena_block), cap, &bytes)) return NULL;
        me_arena_block *nb = malloc(bytes);
        if (!nb) return NULL;
        nb->used = 0;
        nb->cap = cap;
        /* A large one-off block goes behind the head so the head keeps its free space. */
        if (b && sz > ARENA_BLOCK_MIN) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += sz;
    a->total += sz;
    memset(p, 0, sz);
    return p;
}

void *me_arena_calloc(me_arena *a, size_t n, size_t size) {
    size_t bytes;
    if (!me_mul_size(n, size, &bytes)) return NULL;
    return me_arena_alloc(a, bytes);
}

char *me_arena_strndup(me_arena *a, const char *s, size_t n) {
    char *p = me_arena_alloc(a, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *me_arena_strdup(me_arena *a, const char *s) {
    return me_arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

char *me_arena_printf(me_arena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *p = me_arena_alloc(a, (size_t)n + 1);
    if (!p) return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void *me_arena_grow(me_arena *a, void *old, size_t old_n, size_t new_n, size_t elem) {
    void *p = me_arena_calloc(a, new_n, elem);
    if (p && old && old_n) memcpy(p, old, ME_MIN(old_n, new_n) * elem);
    return p;
}
