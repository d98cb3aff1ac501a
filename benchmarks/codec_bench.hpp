#pragma once
// The codec section of txova-bench (--codec): the envelope codec next to Boost.JSON and simdjson.

struct codec_options {
  bool quick = false;
};

/// Prints the codec table and the envelope_codec line; non-zero when the sample does not parse.
int run_codec_section(const codec_options& o);
