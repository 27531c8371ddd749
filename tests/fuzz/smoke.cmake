# Included by the main CMakeLists.txt (g++ build): the fuzz corpus run once
# through the fuzzers' entry point, without libFuzzer (ctest label `fuzz`).
# The libFuzzer build itself is tests/fuzz/CMakeLists.txt (`make fuzz`).
foreach(fuzzer config_fuzzer resources_fuzzer)
  add_executable(nsbox_smoke_${fuzzer} ${CMAKE_SOURCE_DIR}/tests/fuzz/config_fuzzer.cpp
                                       ${CMAKE_SOURCE_DIR}/tests/fuzz/smoke_main.cpp)
  target_link_libraries(nsbox_smoke_${fuzzer} PRIVATE nsbox_lib)
  add_test(NAME fuzz_corpus.${fuzzer}
           COMMAND nsbox_smoke_${fuzzer} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${fuzzer})
  set_tests_properties(fuzz_corpus.${fuzzer} PROPERTIES LABELS fuzz TIMEOUT 30)
endforeach()
target_compile_definitions(nsbox_smoke_resources_fuzzer PRIVATE NSBOX_FUZZ_RESOURCES)
