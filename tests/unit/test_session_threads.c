/* me_session_set_threads through the public API: on ONNX's test_add (x + y,
 * [3,4,5]) every thread count gives x + y exactly; bad counts are refused. */
#include <string.h>

#include "check.h"
#include "modelexport.h"

int main(void) {
    const char *onnx = "../shared/conformance/onnx-node/test_add/model.onnx";
    me_model *m = NULL;
    me_session *s = NULL;
    me_error *err = NULL;
    CHECK(me_session_set_threads(NULL, 1, &err) == ME_ERR_INVALID_ARG);
    CHECK(err && strstr(me_error_message(err), "no session"));
    me_error_free(err);
    err = NULL;
    if (me_model_load(onnx, NULL, &m, &err) != ME_OK) {
        printf("skipping: cannot load %s\n", onnx);
        me_error_free(err);
        return check_exit();
    }
    CHECK(me_session_create(m, &s, &err) == ME_OK);
    float x[60], y[60];
    for (int i = 0; i < 60; i++) { x[i] = (float)i * 0.5f; y[i] = 100.0f - (float)i; }
    static const int counts[] = {1, 2, 3, 0};
    for (int c = 0; c < 4; c++) {
        CHECK(me_session_set_threads(s, counts[c], &err) == ME_OK);
        CHECK(me_session_set_input(s, 0, x, sizeof x, &err) == ME_OK);
        CHECK(me_session_set_input(s, 1, y, sizeof y, &err) == ME_OK);
        CHECK(me_session_run(s, &err) == ME_OK);
        const void *out;
        size_t nb;
        CHECK(me_session_get_output(s, 0, &out, &nb) == ME_OK && nb == sizeof x);
        int bad = 0;
        for (int i = 0; i < 60; i++) bad += ((const float *)out)[i] != 100.0f - (float)i * 0.5f;
        CHECK(bad == 0);
    }
    CHECK(me_session_set_threads(s, -1, &err) == ME_ERR_INVALID_ARG);
    CHECK(err && strstr(me_error_message(err), "-1 threads"));
    me_error_free(err);
    me_session_destroy(s);
    me_model_free(m);
    return check_exit();
}
