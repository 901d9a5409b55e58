# Run by cap_doctest_tests (CapDoctestTests.cmake) after a test executable links: lists its test
# cases in one run and writes the CTest file that registers each one.
# -D EXECUTABLE, WORKING_DIRECTORY, PROPERTIES_FILE, OUTPUT
include(${PROPERTIES_FILE})
execute_process(COMMAND ${EXECUTABLE} --list-test-cases --reporters=xml
  WORKING_DIRECTORY ${WORKING_DIRECTORY}
  OUTPUT_VARIABLE listing ERROR_VARIABLE errors RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${EXECUTABLE} --list-test-cases failed (${status}):\n${errors}${listing}")
endif()

# One <TestCase name="..." .../> per case; names come XML-escaped.
string(REGEX MATCHALL "<TestCase name=\"[^\"]*\"" cases "${listing}")
set(script "")
set(count 0)
foreach(case IN LISTS cases)
  string(REGEX REPLACE "^<TestCase name=\"(.*)\"$" "\\1" name "${case}")
  string(REPLACE "&quot;" "\"" name "${name}")
  string(REPLACE "&apos;" "'" name "${name}")
  string(REPLACE "&lt;" "<" name "${name}")
  string(REPLACE "&gt;" ">" name "${name}")
  string(REPLACE "&amp;" "&" name "${name}")
  # The area before the first ':' is the label; a name without one has none.
  set(label "")
  if(name MATCHES "^([^:]+):")
    set(label "LABELS [==[${CMAKE_MATCH_1}]==]")
  endif()
  # doctest reads ',' in a filter as "or": escape it, or the filter matches no case.
  string(REPLACE "," "\\," filter "${name}")
  string(APPEND script
    "add_test([==[${name}]==] [==[${EXECUTABLE}]==] [==[--test-case=${filter}]==])\n"
    "set_tests_properties([==[${name}]==] PROPERTIES WORKING_DIRECTORY [==[${WORKING_DIRECTORY}]==]"
    "${properties} ${label})\n")
  math(EXPR count "${count} + 1")
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "${EXECUTABLE} listed no test case:\n${listing}")
endif()
# Written whole, then renamed: CTest never reads half a list.
file(WRITE ${OUTPUT}.tmp "${script}")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
