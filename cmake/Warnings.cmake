# Warnings applied to medsoc's own targets (not to third-party headers).
function(medsoc_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter -Wno-missing-field-initializers)
endfunction()

# medsoc_module(NAME SOURCES... DEPS ...): a static library medsoc_NAME rooted at src/.
function(medsoc_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  if(NOT M_SOURCES)
    message(STATUS "medsoc: module ${name} has no sources yet; skipped")
    return()
  endif()
  add_library(medsoc_${name} STATIC ${M_SOURCES})
  target_include_directories(medsoc_${name} PUBLIC ${MEDSOC_SOURCE_DIR}/src)
  target_link_libraries(medsoc_${name} PUBLIC ${M_DEPS})
  medsoc_warnings(medsoc_${name})
endfunction()

# medsoc_unit_test(NAME SOURCES... DEPS ...): a GoogleTest binary whose tests ctest discovers.
function(medsoc_unit_test name)
  if(NOT MEDSOC_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  medsoc_warnings(${name})
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
    PROPERTIES ENVIRONMENT "MEDSOC_SOURCE_DIR=${MEDSOC_SOURCE_DIR}")
endfunction()
