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
