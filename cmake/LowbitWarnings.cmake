# lowbit_set_warnings(target): -Wall -Wextra -Wpedantic (and -Werror with LOWBIT_WERROR), and
# -ffp-contract=off so that no compiler fuses a multiply and an add behind the numerics' back.
function(lowbit_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -ffp-contract=off
                         $<$<BOOL:${LOWBIT_WERROR}>:-Werror>)
endfunction()
