# CTest third_party_example and c_criterion_example: install cap into a scratch prefix, build
# an example plugin against that installed SDK only (a separate CMake project, out of tree), then
# check that the installed `cap` lists it, its conformance checks pass, it exports nothing else,
# and (when the example has a recipe.toml) that a run with it finishes.
#   -DCAP_BUILD_DIR=... -DEXAMPLE_DIR=... -DWORK_DIR=... -DPLUGIN=<target> -DPLUGIN_NAME=<name>
cmake_minimum_required(VERSION 3.25)

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    # The error text first: a CI log excerpt may keep only the message's first lines.
    message(FATAL_ERROR "${err}\n${out}\nfailed (${rc}): ${cmd}")
  endif()
  set(STEP_OUTPUT "${out}${err}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
set(build "${WORK_DIR}/build")

run_step(${CMAKE_COMMAND} --install "${CAP_BUILD_DIR}" --prefix "${prefix}")
# Only the installed prefix is visible to the example: no path into the source tree.
run_step(${CMAKE_COMMAND} -S "${EXAMPLE_DIR}" -B "${build}" -G Ninja
         "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_BUILD_TYPE=Release)
run_step(${CMAKE_COMMAND} --build "${build}")

set(plugin "${build}/${PLUGIN}.so")
if(NOT EXISTS "${plugin}")
  message(FATAL_ERROR "the example did not produce ${plugin}")
endif()

run_step("${prefix}/bin/cap" plugins --json --plugin-path "${build}")
foreach(expected "\"name\": \"${PLUGIN_NAME}\"" "\"name\": \"cpu\"" "\"name\": \"cuda\"" "\"name\": \"iterative\"")
  string(FIND "${STEP_OUTPUT}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "cap plugins does not list ${expected}:\n${STEP_OUTPUT}")
  endif()
endforeach()
string(FIND "${STEP_OUTPUT}" "${plugin}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${PLUGIN_NAME} not found at ${plugin}:\n${STEP_OUTPUT}")
endif()

run_step("${prefix}/bin/cap" check-plugin "${plugin}")
string(FIND "${STEP_OUTPUT}" " 0 failed" at)
if(at EQUAL -1)
  message(FATAL_ERROR "check-plugin failed for the example:\n${STEP_OUTPUT}")
endif()

run_step(nm -D --defined-only "${plugin}")
string(STRIP "${STEP_OUTPUT}" symbols)
if(NOT symbols MATCHES "^[0-9a-f]+ T cap_plugin_entry$")
  message(FATAL_ERROR "the example exports more than its entry point:\n${symbols}")
endif()
if(EXISTS "${EXAMPLE_DIR}/recipe.toml")
  run_step("${prefix}/bin/cap" run "${EXAMPLE_DIR}/recipe.toml" --plugin-path "${build}" --out "${WORK_DIR}/run")
  string(FIND "${STEP_OUTPUT}" "finished in" at)
  if(at EQUAL -1 OR NOT EXISTS "${WORK_DIR}/run/final/model.safetensors")
    message(FATAL_ERROR "the example's recipe did not finish:\n${STEP_OUTPUT}")
  endif()
endif()
message(STATUS "${PLUGIN_NAME} built against the installed SDK, listed, checked and run")
