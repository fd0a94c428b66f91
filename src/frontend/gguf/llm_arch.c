/* The architecture table (gguf.md §7, §9). Fused QKV (attn_qkv) and optional
 * biases are recognised from the tensors present, for every architecture. */
#include "llm_arch.h"

#include <string.h>

static const llm_arch archs[] = {
    /* name       neox   ffn act             fused g/u  emb*sqrt(d) q/sqrt(hd) tied */
    {"llama",    false, LLM_FFN_SILU,      false,     false,      false,      false},
    {"mistral",  false, LLM_FFN_SILU,      false,     false,      false,      false},
    {"qwen2",    true,  LLM_FFN_SILU,      false,     false,      false,      false},
    {"phi3",     true,  LLM_FFN_SILU,      true,      false,      true,       false},
    {"gemma",    true,  LLM_FFN_GELU_TANH, false,     true,       true,       true},
};

const llm_arch *llm_arch_find(const char *name, unsigned long name_len) {
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (strlen(archs[i].name) == name_len && memcmp(archs[i].name, name, name_len) == 0) return &archs[i];
    return NULL;
}

const char *llm_arch_list(void) { return "llama, mistral, qwen2, phi3, gemma"; }
