# post_proto_library(<target> <file.proto>...)
#
# Generates C++ from the given .proto files (paths relative to the calling directory) and
# builds them into a static library. protoc runs with the repository root as its only import
# path, so generated code lands at the same relative path under the build tree and is
# included as "host/core/proto/identity.pb.h"; a proto imports another the same way.
function(post_proto_library target)
  set(generated)
  foreach(proto ${ARGN})
    get_filename_component(abs ${proto} ABSOLUTE)
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${abs})
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    set(cc ${PROJECT_BINARY_DIR}/${stem}.pb.cc)
    set(h ${PROJECT_BINARY_DIR}/${stem}.pb.h)
    add_custom_command(
      OUTPUT ${cc} ${h}
      COMMAND protobuf::protoc --cpp_out=${PROJECT_BINARY_DIR} -I ${PROJECT_SOURCE_DIR} ${abs}
      DEPENDS ${abs} protobuf::protoc
      COMMENT "protoc ${rel}"
      VERBATIM)
    list(APPEND generated ${cc} ${h})
  endforeach()
  add_library(${target} STATIC ${generated})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf)
  target_include_directories(${target} PUBLIC ${PROJECT_BINARY_DIR})
  set_target_properties(${target} PROPERTIES UNITY_BUILD OFF)
endfunction()
