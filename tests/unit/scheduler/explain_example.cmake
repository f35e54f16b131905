# Runs `eppsim explain` on docs/explain-example and compares with expected.json.
execute_process(COMMAND ${EPPSIM} explain --epp-config ${DIR}/epp.yaml --state ${DIR}/state.json --json
                OUTPUT_VARIABLE got RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "eppsim explain exited ${rc}")
endif()
file(READ ${DIR}/expected.json want)
if(NOT got STREQUAL want)
  message(FATAL_ERROR "explain output differs from ${DIR}/expected.json:\n${got}")
endif()
# bad input exits 2
execute_process(COMMAND ${EPPSIM} explain --state ${DIR}/missing.json RESULT_VARIABLE rc2 ERROR_QUIET)
if(NOT rc2 EQUAL 2)
  message(FATAL_ERROR "missing state file: exit ${rc2}, want 2")
endif()
# every example EndpointPickerConfig loads and explains the example state
file(GLOB configs ${DIR}/../../examples/epp-configs/*.yaml)
list(LENGTH configs nconfigs)
if(nconfigs LESS 5)
  message(FATAL_ERROR "expected the example EPP configs in examples/epp-configs")
endif()
foreach(cfg ${configs})
  execute_process(COMMAND ${EPPSIM} explain --epp-config ${cfg} --state ${DIR}/state.json
                  RESULT_VARIABLE rc3 OUTPUT_QUIET ERROR_VARIABLE err3)
  if(NOT rc3 EQUAL 0)
    message(FATAL_ERROR "${cfg}: exit ${rc3}: ${err3}")
  endif()
endforeach()
