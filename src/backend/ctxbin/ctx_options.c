/* --backend / --device of a context-binary compile. */
#include <strings.h>

#include "ctxbin.h"

me_status me_ctx_target_from_options(const char *backend, const char *device, me_cpu_target *t, me_diag *d) {
    if (backend && *backend && strcasecmp(backend, "cpu") != 0) {
        static const char *const qnn[] = {"htp", "dsp", "gpu", "npu", "hta", "saver"};
        for (size_t i = 0; i < sizeof qnn / sizeof qnn[0]; i++)
            if (strcasecmp(backend, qnn[i]) == 0)
                return me_fail(d, ME_ERR_UNSUPPORTED,
                               "--backend %s: a Qualcomm context binary for the %s backend can only be produced by "
                               "Qualcomm's QNN SDK (qnn-context-binary-generator with the backend's library, e.g. "
                               "libQnnHtp.so), which is not part of this project. modelexport makes context binaries "
                               "for the CPU only (--backend cpu), in its own format",
                               backend, backend);
        return me_fail(d, ME_ERR_INVALID_ARG, "unknown backend '%s' (modelexport's context binaries are for: cpu)", backend);
    }
    return me_cpu_target_parse(device, t, d);
}
