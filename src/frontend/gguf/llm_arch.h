/* LLM architectures the GGUF graph builder knows: one table row each
 * (llm_arch.c). The builder (llm_build.c) has no per-architecture branches;
 * it reads these flags. */
#ifndef ME_LLM_ARCH_H
#define ME_LLM_ARCH_H

#include <stdbool.h>

typedef enum llm_ffn_act { LLM_FFN_SILU = 0, LLM_FFN_GELU_TANH = 1 } llm_ffn_act;

typedef struct llm_arch {
    const char *name;        /* general.architecture */
    bool rope_neox;          /* RoPE pairs (v[k], v[k+r/2]) instead of (v[2k], v[2k+1]) */
    llm_ffn_act ffn_act;     /* down(act(gate) * up) */
    bool ffn_fused_gate_up;  /* ffn_up holds [gate; up] rows, there is no ffn_gate (phi3) */
    bool embd_scale_sqrt;    /* x *= sqrt(n_embd) after the embedding lookup (gemma) */
    bool q_prescale;         /* q *= 1/sqrt(head_dim) before attention, softmax scale 1 (gemma, phi3) */
    bool always_tied;        /* LM head is always token_embd (gemma) */
} llm_arch;

/* NULL if the architecture is not supported. */
const llm_arch *llm_arch_find(const char *name, unsigned long name_len);
/* "llama, mistral, ..." for error messages. */
const char *llm_arch_list(void);

#endif
