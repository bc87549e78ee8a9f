# post_add_plugin(<target> <sources>...)
#
# Builds a POST plugin: a MODULE library (no "lib" prefix: <target>.so) linked to
# PostSDK::sdk that exports nothing but post_plugin_entry_v1 (version script and hidden
# visibility), refuses undefined symbols at link time (except in sanitizer builds), and has
# no GNU unique symbols, which would keep the host from unloading it on reload.
function(post_add_plugin target)
  add_library(${target} MODULE ${ARGN})
  if(TARGET PostSDK::sdk)
    target_link_libraries(${target} PRIVATE PostSDK::sdk)
  else()
    target_link_libraries(${target} PRIVATE post_sdk)
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS ${POST_SDK_PLUGIN_MAP})
  target_compile_options(${target} PRIVATE
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-fno-gnu-unique>)
  target_link_options(${target} PRIVATE "LINKER:--version-script=${POST_SDK_PLUGIN_MAP}")
  # Sanitizer runtimes live in the host executable, so a sanitized plugin has undefined
  # symbols by design.
  if(NOT POST_SANITIZE)
    target_link_options(${target} PRIVATE "LINKER:-z,defs")
  endif()
endfunction()
