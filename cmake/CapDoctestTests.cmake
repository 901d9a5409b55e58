# cap_doctest_tests(<target> [PROPERTIES <ctest properties>...])
#
# Registers every doctest TEST_CASE of <target> as its own CTest test, labelled with the area its
# name starts with ("report: ..." gets the label "report", so `ctest -L report` runs that area).
# Why not doctest_discover_tests(ADD_LABELS 1): it starts one process per test case to ask for its
# suite, each loading LibTorch: minutes of every build. This lists the cases once, after each link.
function(cap_doctest_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 _arg "" "" "PROPERTIES")
  set(_dir ${CMAKE_CURRENT_BINARY_DIR})
  set(_tests_file ${_dir}/${target}_tests.cmake)
  set(_properties_file ${_dir}/${target}_properties.cmake)
  # The properties travel through a file, already written as arguments: a value holding ';' (an
  # ENVIRONMENT list) stays one argument, where a CMake list would split it into several.
  set(_properties "")
  foreach(_item IN LISTS _arg_PROPERTIES)
    string(APPEND _properties " [==[${_item}]==]")
  endforeach()
  file(GENERATE OUTPUT ${_properties_file} CONTENT "set(properties [====[${_properties}]====])\n")
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -D EXECUTABLE=$<TARGET_FILE:${target}> -D WORKING_DIRECTORY=${_dir}
            -D PROPERTIES_FILE=${_properties_file} -D OUTPUT=${_tests_file}
            -P ${PROJECT_SOURCE_DIR}/cmake/cap_doctest_list.cmake
    BYPRODUCTS ${_tests_file}
    VERBATIM)
  # CTest reads the list when it exists; before the first build it says how to make it.
  set(_include_file ${_dir}/${target}_include.cmake)
  file(WRITE ${_include_file}
    "if(EXISTS [==[${_tests_file}]==])\n"
    "  include([==[${_tests_file}]==])\n"
    "else()\n"
    "  add_test([==[${target}_NOT_BUILT]==] [==[${target}_NOT_BUILT]==])\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${_include_file})
endfunction()
