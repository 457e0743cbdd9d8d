# Runs each decode-only program on golden streams, then lists its symbols with nm (defined and
# undefined, demangled) and fails on any that belongs to an encoder: ftcodec's own encoders
# (frame and packet coding, quantizers, the rANS encoder, the codec encoder tables), x265, or
# TurboJPEG's / libjpeg's compressor. Also fails if ftc::decode itself is missing, so the check
# cannot pass on an empty listing.
foreach(var NM PROGRAMS GOLDEN STREAMS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_symbols.cmake needs -D${var}=...")
  endif()
endforeach()
set(forbidden
  "ftc::encode"
  "ftc::(\\(anonymous namespace\\)::)?Encode(\\(|[A-Z])"
  "EncodeSymbolSegment"
  "EncodeSample"
  "CodecEncoder"
  "BandEncoder"
  "BandSample"
  "kAnsEncoder|kRawEncoder|kJpegEncoder|kHevcEncoder|kLearnedEncoder"
  "ftc::Quantize|QuantizePlanned|ComputeQuantRange"
  "PackedSamples"
  "x265_"
  "tjCompress|tjInitCompress|tjEncodeYUV|tjPlaneSizeYUV"
  "jpeg_start_compress|jpeg_CreateCompress|jpeg_write_scanlines")
foreach(program ${PROGRAMS})
  get_filename_component(name ${program} NAME)
  foreach(stream ${STREAMS})
    execute_process(COMMAND ${program} ${GOLDEN}/${stream}.ftc ${GOLDEN}/${stream}.npy
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${name} failed on ${stream}.ftc: ${out}${err}")
    endif()
  endforeach()
  execute_process(COMMAND ${NM} -C ${program} RESULT_VARIABLE rc OUTPUT_VARIABLE symbols
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm ${program}: ${err}")
  endif()
  if(NOT symbols MATCHES "ftc::decode\\(")
    message(FATAL_ERROR "${name}: ftc::decode not found by nm: the listing is not what it seems")
  endif()
  string(REPLACE "\n" ";" lines "${symbols}")
  set(bad "")
  foreach(line ${lines})
    foreach(pattern ${forbidden})
      if(line MATCHES "${pattern}")
        string(APPEND bad "\n  ${line}")
        break()
      endif()
    endforeach()
  endforeach()
  if(bad)
    message(FATAL_ERROR "${name} holds encoder symbols:${bad}")
  endif()
  message(STATUS "${name}: no encoder symbol; decoded ${STREAMS}")
endforeach()
