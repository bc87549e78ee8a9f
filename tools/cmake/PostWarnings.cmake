# Warning flags shared by every target of the project.
function(post_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wimplicit-fallthrough)
  if(POST_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
