# End-to-end tests through the CLI. Python tools run with /usr/bin/python3
# (Debian's numpy/onnx/torch). ../shared sits beside the repo on CI machines.
set(ME_PY /usr/bin/python3)
set(ME_SHARED ${CMAKE_SOURCE_DIR}/../shared)
set(ME_WORK ${CMAKE_BINARY_DIR}/testwork)

# ONNX's own per-operator cases: >= 95% of the in-scope cases must pass and
# every other case must fail cleanly. Skipped (exit 77) without ../shared.
add_test(NAME conformance.onnx_node
  COMMAND sh -c "if [ -d '${ME_SHARED}/conformance/onnx-node' ]; then exec ${ME_PY} tests/tools/conformance.py --modelexport $<TARGET_FILE:modelexport> --cases '${ME_SHARED}/conformance/onnx-node' --jobs 2 --json '${ME_WORK}/conformance.json'; else echo 'notice: ../shared/conformance is absent; ONNX conformance skipped'; exit 77; fi"
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(conformance.onnx_node PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 2400 RUN_SERIAL TRUE)

# Malformed models, DLCs and input lists: exit 1 with an error, never a signal.
add_test(NAME robustness.malformed
  COMMAND ${ME_PY} tests/tools/malformed.py --modelexport $<TARGET_FILE:modelexport> --dir ${ME_WORK}/malformed --jobs 2
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(robustness.malformed PROPERTIES TIMEOUT 1800 RUN_SERIAL TRUE)

# libFuzzer smoke run (tests/fuzz, docs/fuzzing.md): every fuzz target over its
# generated seeds plus a bounded number of mutations. Skipped without clang.
add_test(NAME robustness.fuzz_smoke
  COMMAND bash tests/fuzz/fuzz_smoke.sh ${CMAKE_BINARY_DIR} $<TARGET_FILE:modelexport>
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(robustness.fuzz_smoke PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 1500 RUN_SERIAL TRUE)

# Real models vs ONNX Runtime (npm onnxruntime-node).
add_test(NAME models.vs_onnxruntime
  COMMAND ${ME_PY} tests/tools/models_test.py --modelexport $<TARGET_FILE:modelexport> --workdir ${ME_WORK}/models
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(models.vs_onnxruntime PROPERTIES TIMEOUT 1800 RUN_SERIAL TRUE)

# Peak RSS while compiling ResNet-50 (meaningless under sanitizers).
if(NOT ME_SANITIZE)
  add_test(NAME memory.resnet50_compile
    COMMAND ${ME_PY} tests/tools/memory_test.py --modelexport $<TARGET_FILE:modelexport> --workdir ${ME_WORK}/models
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(memory.resnet50_compile PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
endif()

# The demo model end to end (same as `make demo`).
add_test(NAME demo.cnn COMMAND bash tools/demo.sh ${CMAKE_BINARY_DIR} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})

# The Python API (python/modelexport) drives the same CLI.
add_test(NAME python.api
  COMMAND ${ME_PY} tests/tools/python_api_test.py --modelexport $<TARGET_FILE:modelexport> --workdir ${ME_WORK}/python_api
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})

# NEON kernel variants: the kernel unit tests cross-built for aarch64 and run
# under qemu-user (skipped, 77, without the cross compiler or qemu).
if(NOT ME_SANITIZE)
  add_test(NAME kernels.aarch64_qemu
    COMMAND bash tools/cross-test-aarch64.sh ${CMAKE_BINARY_DIR}/cross-aarch64
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(kernels.aarch64_qemu PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
endif()

# Quantisation acceptance (issue 4): float and quantised --format onnx-qdq
# exports vs ONNX Runtime, output SQNR per configuration, enhanced vs tf,
# determinism. Sanitizer builds run the quick subset (small ViT + long-tailed MLP).
if(ME_SANITIZE)
  set(ME_QUANT_TEST_QUICK --quick)
else()
  set(ME_QUANT_TEST_QUICK)
endif()
add_test(NAME quant.acceptance
  COMMAND ${ME_PY} tests/tools/quant_test.py --modelexport $<TARGET_FILE:modelexport> --workdir ${ME_WORK}/quant ${ME_QUANT_TEST_QUICK}
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(quant.acceptance PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)

# GGUF (issue 3): our block dequantisation must be bit-exact with ggml's own to_float
# (libggml-base.so from npm node-llama-cpp), and our activation quantisation for the
# quantised matmul bit-exact with ggml-cpu's. Loads libmodelexport.so into Python,
# which an ASan build cannot do; skipped (77) without node_modules.
if(NOT ME_SANITIZE)
  add_test(NAME gguf.dequant_vs_ggml
    COMMAND ${ME_PY} tests/tools/ggml_dequant_check.py --lib $<TARGET_FILE:modelexport_shared>
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(gguf.dequant_vs_ggml PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()

# Malformed GGUF files: inspect and compile-qnn end with exit 1 and an error, never a signal.
add_test(NAME robustness.gguf_malformed
  COMMAND ${ME_PY} tests/tools/gguf_malformed.py --modelexport $<TARGET_FILE:modelexport> --dir ${ME_WORK}/gguf_malformed --jobs 2
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(robustness.gguf_malformed PROPERTIES TIMEOUT 600)

# GGUF language models (issue 3): stories260K greedy ids and logits vs
# llama.cpp, synthetic llama/qwen2 GGUFs (F32, Q8_0, Q4_0, K-quants) vs
# llama.cpp (npm node-llama-cpp), tokenizers, and the 100M-parameter compile
# memory/size check (skipped under sanitizers).
if(ME_SANITIZE)
  set(ME_LLM_TEST_OPTS --no-memory)
else()
  set(ME_LLM_TEST_OPTS)
endif()
add_test(NAME llm.gguf
  COMMAND ${ME_PY} tests/tools/llm_test.py --modelexport $<TARGET_FILE:modelexport> --workdir ${ME_WORK}/llm --shared ${ME_SHARED} ${ME_LLM_TEST_OPTS}
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(llm.gguf PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE)

# Quantisation through the CLI: options, encodings round trip, saved
# calibration, verify, and every error path (small generated model).
add_test(NAME quant.cli
  COMMAND ${ME_PY} tests/tools/quant_cli_test.py --modelexport $<TARGET_FILE:modelexport> --workdir ${ME_WORK}/quant_cli
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(quant.cli PROPERTIES TIMEOUT 600)

# Context binaries (compile-qnn --format context-binary): same outputs as the
# DLC, inspect, --backend HTP refused, foreign / forged CPU targets refused.
add_test(NAME ctxbin.cli
  COMMAND ${ME_PY} tests/tools/ctxbin_test.py --modelexport $<TARGET_FILE:modelexport> --workdir ${ME_WORK}/ctxbin
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(ctxbin.cli PROPERTIES TIMEOUT 600)

# QDQ ONNX in (issue 4): models already quantised in QDQ form (A8W8 per-axis and
# per-tensor, A16W8, A8W4 int4, A16W16) compile without calibration and match ONNX
# Runtime and the exact QDQ meaning within one output step; 1 vs 2 threads identical.
add_test(NAME quant.qdq_in
  COMMAND ${ME_PY} tests/tools/qdq_test.py --modelexport $<TARGET_FILE:modelexport> --workdir ${ME_WORK}/qdq_in
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(quant.qdq_in PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
