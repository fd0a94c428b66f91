/* Minimal assertion helpers for unit tests: each failed CHECK prints where and
 * counts; main returns check_exit(). */
#ifndef ME_TEST_CHECK_H
#define ME_TEST_CHECK_H
#include <math.h>
#include <stdio.h>

static int check_failures, check_count;

#define CHECK(cond)                                                              \
    do {                                                                         \
        check_count++;                                                           \
        if (!(cond)) {                                                           \
            check_failures++;                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                    \
    do {                                                                         \
        double _a = (a), _b = (b);                                               \
        check_count++;                                                           \
        if (!(fabs(_a - _b) <= (tol))) {                                         \
            check_failures++;                                                    \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s=%g %s=%g\n", __FILE__, __LINE__, #a, _a, #b, _b); \
        }                                                                        \
    } while (0)

static inline int check_exit(void) {
    printf("%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}
#endif
