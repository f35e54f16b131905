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
