// Kiln — Apache-2.0. See LICENSE.
// libpng behind setjmp: see include/CKilnShims.h for why this file exists.

#include "CKilnShims.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void copy_message(char *message, const char *text) {
    strncpy(message, text, CKILNSHIMS_MESSAGE_SIZE - 1);
    message[CKILNSHIMS_MESSAGE_SIZE - 1] = '\0';
}

// MARK: - Decoding

struct CKilnShims_png_decoder {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size;
    size_t offset;
    char message[CKILNSHIMS_MESSAGE_SIZE];
    char warning[CKILNSHIMS_MESSAGE_SIZE];
};

// libpng calls this on a fatal error; it must not return. Keep the message, jump to the shim's setjmp.
// libpng often says why in a warning just before a generic error ("Invalid IHDR data"): keep both.
static void decoder_error(png_structp png, png_const_charp text) {
    CKilnShims_png_decoder *decoder = (CKilnShims_png_decoder *)png_get_error_ptr(png);
    if (decoder->warning[0]) {
        snprintf(decoder->message, CKILNSHIMS_MESSAGE_SIZE, "%s (%s)", text, decoder->warning);
    } else {
        copy_message(decoder->message, text);
    }
    png_longjmp(png, 1);
}

// Warnings (a bad ancillary chunk, an sRGB profile mismatch) don't stop decoding; libpng drops the chunk.
// The last one is kept for the message of an error that may follow.
static void decoder_warning(png_structp png, png_const_charp text) {
    CKilnShims_png_decoder *decoder = (CKilnShims_png_decoder *)png_get_error_ptr(png);
    copy_message(decoder->warning, text);
}

// libpng's own allocations are small for any image within Kiln's limits (a row of 8192 16-bit RGBA pixels is
// 64 KiB; zlib's state; ancillary chunks are capped at 8 MiB below). Yet libpng 1.6.39 (Debian 12) mallocs the
// length a chunk header claims before checking it in some paths: a 95-byte file found by fuzzing asked for 1.1 GB.
// Anything above this bound is refused, and libpng stops with "Out of memory" like any failed allocation.
#define CKILNSHIMS_PNG_MAX_ALLOCATION ((png_alloc_size_t)32 * 1024 * 1024)

static png_voidp bounded_malloc(png_structp png, png_alloc_size_t size) {
    if (size > CKILNSHIMS_PNG_MAX_ALLOCATION) {
        CKilnShims_png_decoder *decoder = (CKilnShims_png_decoder *)png_get_mem_ptr(png);
        if (decoder) {
            snprintf(decoder->warning, CKILNSHIMS_MESSAGE_SIZE,
                     "a chunk asks for %llu bytes, more than any image within the limits needs",
                     (unsigned long long)size);
        }
        return NULL;
    }
    return malloc(size);
}

static void bounded_free(png_structp png, png_voidp pointer) {
    (void)png;
    free(pointer);
}

static void read_from_memory(png_structp png, png_bytep out, size_t count) {
    CKilnShims_png_decoder *decoder = (CKilnShims_png_decoder *)png_get_io_ptr(png);
    if (count > decoder->size - decoder->offset) {
        png_error(png, "unexpected end of file (truncated)");
    }
    memcpy(out, decoder->data + decoder->offset, count);
    decoder->offset += count;
}

CKilnShims_png_decoder *CKilnShims_png_decoder_create(const uint8_t *data, size_t size, uint32_t max_width,
                                                      uint32_t max_height) {
    CKilnShims_png_decoder *decoder = calloc(1, sizeof(CKilnShims_png_decoder));
    if (!decoder) return NULL;
    decoder->data = data;
    decoder->size = size;
    decoder->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, decoder, decoder_error, decoder_warning, decoder,
                                            bounded_malloc, bounded_free);
    if (!decoder->png) {
        free(decoder);
        return NULL;
    }
    decoder->info = png_create_info_struct(decoder->png);
    if (!decoder->info) {
        png_destroy_read_struct(&decoder->png, NULL, NULL);
        free(decoder);
        return NULL;
    }
    png_set_read_fn(decoder->png, decoder, read_from_memory);
    png_set_user_limits(decoder->png, max_width, max_height);
    // Bound what ancillary chunks may allocate (a zTXt or iCCP "bomb") and how many may be kept.
    png_set_chunk_malloc_max(decoder->png, 8 * 1024 * 1024);
    png_set_chunk_cache_max(decoder->png, 1000);
    return decoder;
}

int CKilnShims_png_read_info(CKilnShims_png_decoder *decoder, CKilnShims_png_info *info) {
    if (decoder->size < 8 || png_sig_cmp(decoder->data, 0, 8) != 0) {
        copy_message(decoder->message, "not a PNG file (bad signature)");
        return -1;
    }
    if (setjmp(png_jmpbuf(decoder->png))) return -1;
    png_read_info(decoder->png, decoder->info);
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(decoder->png, decoder->info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    info->width = width;
    info->height = height;
    info->bit_depth = bit_depth;
    info->color_type = color_type;
    info->interlaced = interlace != PNG_INTERLACE_NONE;
    return 0;
}

int CKilnShims_png_read_rgba8(CKilnShims_png_decoder *decoder, uint8_t *pixels, size_t stride) {
    png_structp png = decoder->png;
    png_infop info = decoder->info;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        return -1;
    }
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    // Everything becomes 8-bit RGBA: palette → RGB, gray < 8 bits → 8, tRNS → alpha, 16 → high byte.
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (bit_depth == 16) png_set_strip_16(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_add_alpha(png, 0xFF, PNG_FILLER_AFTER);  // no effect when the image already has alpha
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)png_get_image_width(png, info) * 4) {
        png_error(png, "internal: transformed rows are not RGBA8");
    }
    png_uint_32 height = png_get_image_height(png, info);
    rows = malloc(sizeof(png_bytep) * (height ? height : 1));
    if (!rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * stride;
    png_read_image(png, rows);
    // Read up to IEND so that a file cut after its image data, or corrupt there, is an error too.
    png_read_end(png, NULL);
    free(rows);
    return 0;
}

const char *CKilnShims_png_message(const CKilnShims_png_decoder *decoder) { return decoder->message; }

void CKilnShims_png_decoder_destroy(CKilnShims_png_decoder *decoder) {
    if (!decoder) return;
    png_destroy_read_struct(&decoder->png, &decoder->info, NULL);
    free(decoder);
}

// MARK: - Encoding

typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    char *message;
} write_buffer;

static void encoder_error(png_structp png, png_const_charp text) {
    write_buffer *buffer = (write_buffer *)png_get_error_ptr(png);
    copy_message(buffer->message, text);
    png_longjmp(png, 1);
}

static void encoder_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void write_to_memory(png_structp png, png_bytep bytes, size_t count) {
    write_buffer *buffer = (write_buffer *)png_get_io_ptr(png);
    if (count > buffer->capacity - buffer->size) {
        size_t capacity = buffer->capacity ? buffer->capacity : 65536;
        while (capacity - buffer->size < count) {
            if (capacity > SIZE_MAX / 2) png_error(png, "output too large");
            capacity *= 2;
        }
        uint8_t *grown = realloc(buffer->data, capacity);
        if (!grown) png_error(png, "out of memory");
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->size, bytes, count);
    buffer->size += count;
}

static void flush_memory(png_structp png) { (void)png; }

// A libpng writer into `buffer` (its errors go to `buffer->message`), or NULL with `message` saying why.
static png_structp create_writer(write_buffer *buffer, png_infop *info, char *message) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, buffer, encoder_error, encoder_warning);
    *info = png ? png_create_info_struct(png) : NULL;
    if (!*info) {
        if (png) png_destroy_write_struct(&png, NULL);
        copy_message(message, "out of memory");
        return NULL;
    }
    png_set_write_fn(png, buffer, write_to_memory, flush_memory);
    return png;
}

// The signature and IHDR of an 8-bit RGB (`channels` 3) or RGBA image, not interlaced, with the filter set and the
// zlib level and strategy libpng's own row writing uses. libpng may longjmp: call it under the caller's setjmp.
static void write_header(png_structp png, png_infop info, uint32_t width, uint32_t height, int channels, int filters,
                         int level, int strategy) {
    png_set_IHDR(png, info, width, height, 8, channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, filters);
    png_set_compression_level(png, level);
    png_set_compression_strategy(png, strategy);
    png_write_info(png, info);
}

int CKilnShims_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, size_t stride, int channels,
                          int level, int filters, int strategy, uint8_t **out, size_t *out_size, char *message) {
    write_buffer buffer = {NULL, 0, 0, message};
    write_buffer *volatile held = &buffer;
    png_infop info;
    png_structp png = create_writer(&buffer, &info, message);
    if (!png) return -1;
    if (setjmp(png_jmpbuf(png))) {
        free(held->data);
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    write_header(png, info, width, height, channels, filters, level, strategy);
    if (channels == 3) png_set_filler(png, 0, PNG_FILLER_AFTER);  // on write: drop the 4th byte of each pixel
    for (uint32_t y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * stride);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = buffer.data;
    *out_size = buffer.size;
    return 0;
}

// MARK: - Encoding filtered rows

// libpng 1.6.39 pngwutil.c, png_image_size: the bytes of a non-interlaced image's IDAT data (filter bytes included),
// or 0xffffffff where rows or height reach 32768 (it only needs to be exact below 16384).
static size_t idat_data_size(size_t row_bytes, uint32_t height) {
    return row_bytes < 32768 && height < 32768 ? (row_bytes + 1) * height : 0xffffffffU;
}

#ifdef PNG_WRITE_OPTIMIZE_CMF_SUPPORTED
// libpng 1.6.39 pngwutil.c, optimize_cmf: the first IDAT's zlib header states the smallest window that holds the
// image's data (the data is the same; only the header's CINFO and check bits change).
static void optimize_zlib_header(uint8_t *data, size_t data_size) {
    if (data_size > 16384) return;
    unsigned int cmf = data[0];
    if ((cmf & 0x0f) != 8 || (cmf & 0xf0) > 0x70) return;
    unsigned int cinfo = cmf >> 4;
    unsigned int half_window = 1U << (cinfo + 7);
    if (data_size > half_window) return;
    do {
        half_window >>= 1;
        --cinfo;
    } while (cinfo > 0 && data_size <= half_window);
    cmf = (cmf & 0x0f) | (cinfo << 4);
    data[0] = (uint8_t)cmf;
    unsigned int flg = data[1] & 0xe0;
    flg += 0x1f - ((cmf << 8) + flg) % 0x1f;
    data[1] = (uint8_t)flg;
}
#endif

// png_compress_IDAT's output step: what zlib wrote into `chunk` is written as an IDAT (the first with its zlib header
// fixed as optimize_cmf fixes it), then zlib's output space is the whole chunk again. libpng may longjmp.
static void write_idat(png_structp png, z_stream *zstream, uint8_t *chunk, size_t chunk_size, int *first,
                       size_t data_size) {
    size_t size = chunk_size - zstream->avail_out;
#ifdef PNG_WRITE_OPTIMIZE_CMF_SUPPORTED
    if (*first) optimize_zlib_header(chunk, data_size);
#else
    (void)data_size;
#endif
    *first = 0;
    if (size > 0) png_write_chunk(png, (png_const_bytep) "IDAT", chunk, size);
    zstream->next_out = chunk;
    zstream->avail_out = (uInt)chunk_size;
}

int CKilnShims_png_encode_filtered(const uint8_t *filtered, uint32_t width, uint32_t height, int channels, int level,
                                   int strategy, uint32_t adler, uint8_t **out, size_t *out_size, char *message) {
    write_buffer buffer = {NULL, 0, 0, message};
    write_buffer *volatile held = &buffer;
    z_stream zstream;
    memset(&zstream, 0, sizeof zstream);
    z_stream *volatile deflating = NULL;
    uint8_t *volatile chunk = NULL;
    png_infop info;
    png_structp png = create_writer(&buffer, &info, message);
    if (!png) return -1;
    if (setjmp(png_jmpbuf(png))) {
        if (deflating) deflateEnd(deflating);
        free(chunk);
        free(held->data);
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    // The filter set is not used (no row goes through libpng): all five, which the rows were chosen from.
    write_header(png, info, width, height, channels, PNG_ALL_FILTERS, level, strategy);

    // png_deflate_claim: libpng's defaults (method 8, 15 window bits, memory level 8), the window made smaller for
    // data of at most 16384 bytes.
    size_t row_bytes = (size_t)width * (size_t)channels;
    size_t data_size = idat_data_size(row_bytes, height);
    int window_bits = 15;
    if (data_size <= 16384) {
        unsigned int half_window = 1U << (window_bits - 1);
        while (data_size + 262 <= half_window) {
            half_window >>= 1;
            --window_bits;
        }
    }
    // A raw deflate stream, so zlib does not sum the data a byte at a time (the caller's `adler` is that sum); its
    // header and checksum are written here as zlib 1.2.13's deflate() writes them (deflate.c, INIT_STATE and
    // FINISH_STATE), the header before the first block, so every deflate() call sees the output space it would have.
    if (deflateInit2(&zstream, level, Z_DEFLATED, -window_bits, 8, strategy) != Z_OK) {
        png_error(png, zstream.msg ? zstream.msg : "zlib failed to start");
    }
    deflating = &zstream;
    size_t chunk_size = png_get_compression_buffer_size(png);
    if (chunk_size < 2) png_error(png, "compression buffer too small");
    chunk = malloc(chunk_size);
    if (!chunk) png_error(png, "out of memory");
    unsigned int header = (Z_DEFLATED + ((unsigned int)(window_bits - 8) << 4)) << 8;
    unsigned int level_flags = strategy >= Z_HUFFMAN_ONLY || level < 2 ? 0 : level < 6 ? 1 : level == 6 ? 2 : 3;
    header |= level_flags << 6;
    header += 31 - (header % 31);
    chunk[0] = (uint8_t)(header >> 8);
    chunk[1] = (uint8_t)header;
    zstream.next_out = chunk + 2;
    zstream.avail_out = (uInt)(chunk_size - 2);
    int first = 1;
    // png_compress_IDAT, called by png_write_row with each filtered row (Z_NO_FLUSH), then by png_write_end with
    // no input (Z_FINISH): a full chunk is written as an IDAT whenever zlib fills it.
    for (uint32_t y = 0; y <= height; y++) {
        int flush = y < height ? Z_NO_FLUSH : Z_FINISH;
        size_t input_length = y < height ? row_bytes + 1 : 0;
        zstream.next_in = (Bytef *)(y < height ? filtered + (size_t)y * (row_bytes + 1) : NULL);
        for (;;) {
            uInt avail = input_length > (size_t)(uInt)-1 ? (uInt)-1 : (uInt)input_length;
            zstream.avail_in = avail;
            input_length -= avail;
            int ret = deflate(&zstream, input_length > 0 ? Z_NO_FLUSH : flush);
            input_length += zstream.avail_in;
            zstream.avail_in = 0;
            if (zstream.avail_out == 0) {
                write_idat(png, &zstream, chunk, chunk_size, &first, data_size);
                if (ret == Z_OK && flush != Z_NO_FLUSH) continue;
            }
            if (ret == Z_OK) {
                if (input_length == 0) {
                    if (flush == Z_FINISH) png_error(png, "Z_OK on Z_FINISH with output space");
                    break;
                }
            } else if (ret == Z_STREAM_END && flush == Z_FINISH) {
                // The checksum, most significant byte first, where zlib would have put it: a chunk filled by it
                // is written as zlib's pending output would have filled it.
                for (int shift = 24; shift >= 0; shift -= 8) {
                    if (zstream.avail_out == 0) write_idat(png, &zstream, chunk, chunk_size, &first, data_size);
                    *zstream.next_out++ = (uint8_t)(adler >> shift);
                    zstream.avail_out--;
                }
                write_idat(png, &zstream, chunk, chunk_size, &first, data_size);
                break;
            } else {
                png_error(png, zstream.msg ? zstream.msg : "zlib failed");
            }
        }
    }
    deflating = NULL;
    deflateEnd(&zstream);
    free(chunk);
    chunk = NULL;
    png_write_chunk(png, (png_const_bytep) "IEND", NULL, 0);
    png_destroy_write_struct(&png, &info);
    *out = buffer.data;
    *out_size = buffer.size;
    return 0;
}

// MARK: - Encoding in strips

struct CKilnShims_png_stream {
    png_structp png;
    png_infop info;
    write_buffer buffer;
    uint32_t height;
    uint32_t written;
    int failed;
    char message[CKILNSHIMS_MESSAGE_SIZE];
};

CKilnShims_png_stream *CKilnShims_png_stream_create(uint32_t width, uint32_t height, int channels, int level,
                                                    int filters, int strategy, char *message) {
    CKilnShims_png_stream *stream = calloc(1, sizeof(CKilnShims_png_stream));
    if (!stream) {
        copy_message(message, "out of memory");
        return NULL;
    }
    stream->buffer.message = stream->message;
    stream->height = height;
    stream->png = create_writer(&stream->buffer, &stream->info, message);
    if (!stream->png) {
        CKilnShims_png_stream_destroy(stream);
        return NULL;
    }
    if (setjmp(png_jmpbuf(stream->png))) {
        copy_message(message, stream->message);
        CKilnShims_png_stream_destroy(stream);
        return NULL;
    }
    write_header(stream->png, stream->info, width, height, channels, filters, level, strategy);
    if (channels == 3) png_set_filler(stream->png, 0, PNG_FILLER_AFTER);
    return stream;
}

int CKilnShims_png_stream_rows(CKilnShims_png_stream *stream, const uint8_t *pixels, uint32_t rows, size_t stride,
                               const uint8_t *row_filters) {
    if (stream->failed) return -1;
    if (rows > stream->height - stream->written) {
        copy_message(stream->message, "more rows than the image has");
        stream->failed = 1;
        return -1;
    }
    if (setjmp(png_jmpbuf(stream->png))) {
        stream->failed = 1;
        return -1;
    }
    for (uint32_t y = 0; y < rows; y++) {
        if (row_filters && stream->written > 0) png_set_filter(stream->png, PNG_FILTER_TYPE_BASE, row_filters[y]);
        png_write_row(stream->png, pixels + (size_t)y * stride);
        stream->written++;
    }
    return 0;
}

int CKilnShims_png_stream_finish(CKilnShims_png_stream *stream, uint8_t **out, size_t *out_size) {
    if (stream->failed) return -1;
    if (stream->written != stream->height) {
        copy_message(stream->message, "fewer rows than the image has");
        stream->failed = 1;
        return -1;
    }
    if (setjmp(png_jmpbuf(stream->png))) {
        stream->failed = 1;
        return -1;
    }
    png_write_end(stream->png, NULL);
    *out = stream->buffer.data;
    *out_size = stream->buffer.size;
    stream->buffer.data = NULL;  // the caller's now
    stream->failed = 1;          // nothing more can be written
    return 0;
}

void CKilnShims_png_stream_pending(const CKilnShims_png_stream *stream, const uint8_t **data, size_t *size) {
    *data = stream->buffer.data;
    *size = stream->buffer.size;
}

void CKilnShims_png_stream_drained(CKilnShims_png_stream *stream) { stream->buffer.size = 0; }

const char *CKilnShims_png_stream_message(const CKilnShims_png_stream *stream) { return stream->message; }

void CKilnShims_png_stream_destroy(CKilnShims_png_stream *stream) {
    if (!stream) return;
    if (stream->png) png_destroy_write_struct(&stream->png, stream->info ? &stream->info : NULL);
    free(stream->buffer.data);
    free(stream);
}

// MARK: - Memory and versions

void CKilnShims_free(void *pointer) { free(pointer); }

const char *CKilnShims_png_version(void) { return png_get_libpng_ver(NULL); }

const char *CKilnShims_zlib_version(void) { return zlibVersion(); }
