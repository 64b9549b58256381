// Kiln — Apache-2.0. See LICENSE.
//
// Why this target exists: libpng and libjpeg report errors by longjmp. A longjmp across Swift frames is
// undefined behaviour, so every libpng/libjpeg call happens here, in C, under a setjmp in the same C
// function. Failures come back as a non-zero return code and a NUL-terminated message; no Swift frame is
// ever jumped over. Not API: only KilnImage calls these.

#ifndef CKILNSHIMS_H
#define CKILNSHIMS_H

#include <stddef.h>
#include <stdint.h>

#define CKILNSHIMS_MESSAGE_SIZE 200

// MARK: - PNG decoding (two phases, so Swift can check the size before it allocates)

typedef struct CKilnShims_png_decoder CKilnShims_png_decoder;

typedef struct {
    uint32_t width;
    uint32_t height;
    int bit_depth;
    int color_type;
    int interlaced;
} CKilnShims_png_info;

/// A decoder over `size` bytes at `data` (not copied: keep them alive). NULL only when out of memory.
/// Dimensions above the limits are refused by libpng itself while reading the header.
CKilnShims_png_decoder *CKilnShims_png_decoder_create(const uint8_t *data, size_t size, uint32_t max_width,
                                                      uint32_t max_height);
/// Reads the signature and every chunk up to the first IDAT. 0 on success.
int CKilnShims_png_read_info(CKilnShims_png_decoder *decoder, CKilnShims_png_info *info);
/// Decodes the image as 8-bit straight RGBA into `pixels` (height rows of `stride` bytes), then checks the
/// rest of the file up to IEND. 16-bit samples are reduced to their high byte. 0 on success.
int CKilnShims_png_read_rgba8(CKilnShims_png_decoder *decoder, uint8_t *pixels, size_t stride);
/// The message of the last failure.
const char *CKilnShims_png_message(const CKilnShims_png_decoder *decoder);
void CKilnShims_png_decoder_destroy(CKilnShims_png_decoder *decoder);

// MARK: - PNG encoding

/// Encodes 8-bit pixels, 4 bytes each (straight RGBA). With `channels` 3 the fourth byte is dropped and
/// an RGB PNG is written. `filters` is a mask of PNG_FILTER_* values; `level` 0…9; `strategy` a zlib
/// strategy. No tIME, text or other ancillary chunks are written. On success `*out` holds `*out_size` bytes to
/// release with CKilnShims_free. Returns 0 on success.
int CKilnShims_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, size_t stride, int channels,
                          int level, int filters, int strategy, uint8_t **out, size_t *out_size, char *message);

/// The same file from rows already filtered (`filtered`: for each of the `height` rows, its PNG filter type 0…4
/// and then its `width` × `channels` filtered bytes), as libpng writes it with those filters: libpng writes the
/// signature, IHDR, IDAT and IEND chunks; the IDAT data is deflated here exactly as libpng 1.6's
/// png_compress_IDAT does (the same zlib parameters, the same calls row by row, chunks of libpng's compression
/// buffer size, the first chunk's zlib header fixed as optimize_cmf does). `level` 0…9, `strategy` a zlib
/// strategy; `adler` the Adler-32 of `filtered` (all of it), the zlib stream's checksum. Returns 0 on success;
/// `*out` as above.
int CKilnShims_png_encode_filtered(const uint8_t *filtered, uint32_t width, uint32_t height, int channels, int level,
                                   int strategy, uint32_t adler, uint8_t **out, size_t *out_size, char *message);

/// The same encoder, fed a strip of rows at a time (a large image never whole in memory). `create` writes the
/// header; `rows` writes the next `rows` rows (`row_filters`, when not NULL, a filter mask for each row of the
/// strip, set before that row is written — libpng allows changing the set between rows once the first row was
/// written with every filter it will use; the image's first row keeps `filters`); `finish`, after exactly `height` rows, hands over the file's bytes (release them with
/// CKilnShims_free). After an error, `message` says why and every later call fails; `destroy` in every case.
typedef struct CKilnShims_png_stream CKilnShims_png_stream;
CKilnShims_png_stream *CKilnShims_png_stream_create(uint32_t width, uint32_t height, int channels, int level,
                                                    int filters, int strategy, char *message);
int CKilnShims_png_stream_rows(CKilnShims_png_stream *stream, const uint8_t *pixels, uint32_t rows, size_t stride,
                               const uint8_t *row_filters);
int CKilnShims_png_stream_finish(CKilnShims_png_stream *stream, uint8_t **out, size_t *out_size);
// The encoded bytes written since the last drain (the stream keeps them until CKilnShims_png_stream_drained).
void CKilnShims_png_stream_pending(const CKilnShims_png_stream *stream, const uint8_t **data, size_t *size);
// Forgets the pending bytes (the caller has written them out); the buffer keeps its capacity.
void CKilnShims_png_stream_drained(CKilnShims_png_stream *stream);
const char *CKilnShims_png_stream_message(const CKilnShims_png_stream *stream);
void CKilnShims_png_stream_destroy(CKilnShims_png_stream *stream);

// MARK: - JPEG decoding

typedef struct CKilnShims_jpeg_decoder CKilnShims_jpeg_decoder;

typedef struct {
    uint32_t width;
    uint32_t height;
    int components;
    /// libjpeg's J_COLOR_SPACE of the file.
    int color_space;
    int progressive;
    /// 1 when an Adobe marker says CMYK values are stored inverted.
    int adobe_inverted;
} CKilnShims_jpeg_info;

CKilnShims_jpeg_decoder *CKilnShims_jpeg_decoder_create(const uint8_t *data, size_t size, int max_scans);
int CKilnShims_jpeg_read_info(CKilnShims_jpeg_decoder *decoder, CKilnShims_jpeg_info *info);
/// Decodes into 4-byte pixels: RGBA (alpha 255) for gray, YCbCr and RGB files; C, M, Y, K for CMYK and YCCK
/// files (as stored: see `adobe_inverted`). Any libjpeg warning (corrupt or truncated data) is an error.
int CKilnShims_jpeg_read_pixels(CKilnShims_jpeg_decoder *decoder, uint8_t *pixels, size_t stride);
const char *CKilnShims_jpeg_message(const CKilnShims_jpeg_decoder *decoder);
void CKilnShims_jpeg_decoder_destroy(CKilnShims_jpeg_decoder *decoder);

// MARK: - JPEG encoding

/// Encodes 4-byte pixels (RGBX: the fourth byte is ignored) as a baseline JFIF JPEG with optimized Huffman
/// tables, 4:2:0 chroma subsampling below quality 90 and 4:4:4 from 90, the accurate integer DCT.
int CKilnShims_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, size_t stride, int quality,
                           uint8_t **out, size_t *out_size, char *message);

// MARK: - Memory and versions

void CKilnShims_free(void *pointer);
/// libpng's version string, e.g. "1.6.39".
const char *CKilnShims_png_version(void);
/// libjpeg's version, e.g. 62 (the API) and libjpeg-turbo's own, e.g. 2001005 when known (else 0).
int CKilnShims_jpeg_lib_version(void);
/// zlib's version string, e.g. "1.2.13": PNG bytes depend on it (see docs/explanation/imaging.md).
const char *CKilnShims_zlib_version(void);

// MARK: - The allocator

/// Limits glibc's malloc to `arenas` arenas (mallopt M_ARENA_MAX); 1 when set, 0 when refused or not glibc.
/// Called by the kiln executable before its threads start (see MallocArenas in KilnCore for why).
int CKilnShims_limit_malloc_arenas(int arenas);

#endif
