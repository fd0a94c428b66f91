/* Bump arena: compiler memory is allocated here and freed all at once. */
#ifndef ME_ARENA_H
#define ME_ARENA_H

#include <stddef.h>

typedef struct me_arena_block me_arena_block;
typedef struct me_arena {
    me_arena_block *head;
    size_t total;      /* bytes handed out, for statistics */
    size_t limit;      /* 0 = unlimited; else allocations beyond fail (NULL) */
} me_arena;

void me_arena_init(me_arena *a);
void me_arena_free(me_arena *a);
/* 16-byte aligned, zero-filled. Returns NULL on overflow/out of memory. */
void *me_arena_alloc(me_arena *a, size_t size);
/* n * size with overflow check. */
void *me_arena_calloc(me_arena *a, size_t n, size_t size);
char *me_arena_strdup(me_arena *a, const char *s);
char *me_arena_strndup(me_arena *a, const char *s, size_t n);
char *me_arena_printf(me_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Grow an array kept in the arena: returns a new block with old contents
 * copied (the old block is simply abandoned in the arena). */
void *me_arena_grow(me_arena *a, void *old, size_t old_n, size_t new_n, size_t elem);

#endif
