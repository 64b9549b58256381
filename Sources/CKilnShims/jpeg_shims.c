// Kiln — Apache-2.0. See LICENSE.
// libjpeg(-turbo) behind setjmp: see include/CKilnShims.h for why this file exists.

#include "CKilnShims.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr manager;  // first, so a j_common_ptr's err can be cast to this
    jmp_buf jump;
    char message[CKILNSHIMS_MESSAGE_SIZE];
} error_state;

// libjpeg's default error_exit calls exit(): replace it with a jump back to the shim's setjmp.
static void error_exit(j_common_ptr cinfo) {
    error_state *state = (error_state *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    strncpy(state->message, text, CKILNSHIMS_MESSAGE_SIZE - 1);
    state->message[CKILNSHIMS_MESSAGE_SIZE - 1] = '\0';
    longjmp(state->jump, 1);
}

// Level < 0 is a warning about corrupt or truncated data: Kiln treats it as an error instead of rendering
// a partly grey picture. Trace messages (level ≥ 0) are ignored.
static void emit_message(j_common_ptr cinfo, int level) {
    if (level < 0) error_exit(cinfo);
}

static void install_errors(error_state *state) {
    jpeg_std_error(&state->manager);
    state->manager.error_exit = error_exit;
    state->manager.emit_message = emit_message;
    state->message[0] = '\0';
}

// MARK: - Decoding

struct CKilnShims_jpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    error_state errors;
    struct jpeg_progress_mgr progress;
    int max_scans;
    int created;
    const uint8_t *data;
    size_t size;
};

// A progressive JPEG can hold thousands of tiny scans, each costing a pass over the image: bound them.
static void check_scans(j_common_ptr cinfo) {
    CKilnShims_jpeg_decoder *decoder = (CKilnShims_jpeg_decoder *)cinfo->client_data;
    if (cinfo->is_decompressor && ((j_decompress_ptr)cinfo)->input_scan_number > decoder->max_scans) {
        snprintf(decoder->errors.message, CKILNSHIMS_MESSAGE_SIZE, "too many scans (more than %d)",
                 decoder->max_scans);
        longjmp(decoder->errors.jump, 1);
    }
}

CKilnShims_jpeg_decoder *CKilnShims_jpeg_decoder_create(const uint8_t *data, size_t size, int max_scans) {
    CKilnShims_jpeg_decoder *decoder = calloc(1, sizeof(CKilnShims_jpeg_decoder));
    if (!decoder) return NULL;
    decoder->data = data;
    decoder->size = size;
    decoder->max_scans = max_scans;
    install_errors(&decoder->errors);
    decoder->cinfo.err = &decoder->errors.manager;
    decoder->cinfo.client_data = decoder;
    if (setjmp(decoder->errors.jump)) {
        jpeg_destroy_decompress(&decoder->cinfo);
        free(decoder);
        return NULL;
    }
    jpeg_create_decompress(&decoder->cinfo);
    decoder->created = 1;
    decoder->progress.progress_monitor = check_scans;
    decoder->cinfo.progress = &decoder->progress;
    return decoder;
}

int CKilnShims_jpeg_read_info(CKilnShims_jpeg_decoder *decoder, CKilnShims_jpeg_info *info) {
    if (decoder->size < 2 || decoder->data[0] != 0xFF || decoder->data[1] != 0xD8) {
        strcpy(decoder->errors.message, "not a JPEG file (no SOI marker)");
        return -1;
    }
    if (setjmp(decoder->errors.jump)) return -1;
    jpeg_mem_src(&decoder->cinfo, decoder->data, (unsigned long)decoder->size);
    jpeg_read_header(&decoder->cinfo, TRUE);
    info->width = decoder->cinfo.image_width;
    info->height = decoder->cinfo.image_height;
    info->components = decoder->cinfo.num_components;
    info->color_space = decoder->cinfo.jpeg_color_space;
    info->progressive = decoder->cinfo.progressive_mode;
    info->adobe_inverted = decoder->cinfo.saw_Adobe_marker;
    return 0;
}

int CKilnShims_jpeg_read_pixels(CKilnShims_jpeg_decoder *decoder, uint8_t *pixels, size_t stride) {
    struct jpeg_decompress_struct *cinfo = &decoder->cinfo;
    if (setjmp(decoder->errors.jump)) return -1;
    if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK) {
        cinfo->out_color_space = JCS_CMYK;
    } else {
        cinfo->out_color_space = JCS_EXT_RGBA;  // libjpeg-turbo: gray, YCbCr and RGB straight to RGBA
    }
    cinfo->dct_method = JDCT_ISLOW;
    jpeg_start_decompress(cinfo);
    if (cinfo->output_components != 4) {
        strcpy(decoder->errors.message, "unsupported colour layout");
        jpeg_abort_decompress(cinfo);
        return -1;
    }
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = pixels + (size_t)cinfo->output_scanline * stride;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);
    return 0;
}

const char *CKilnShims_jpeg_message(const CKilnShims_jpeg_decoder *decoder) { return decoder->errors.message; }

void CKilnShims_jpeg_decoder_destroy(CKilnShims_jpeg_decoder *decoder) {
    if (!decoder) return;
    if (decoder->created) jpeg_destroy_decompress(&decoder->cinfo);
    free(decoder);
}

// MARK: - Encoding

int CKilnShims_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, size_t stride, int quality,
                           uint8_t **out, size_t *out_size, char *message) {
    struct jpeg_compress_struct cinfo;
    error_state errors;
    install_errors(&errors);
    cinfo.err = &errors.manager;
    // jpeg_mem_dest writes through these pointers, so they live in memory and survive the longjmp.
    unsigned char *mem = NULL;
    unsigned long size = 0;
    if (setjmp(errors.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(mem);
        memcpy(message, errors.message, CKILNSHIMS_MESSAGE_SIZE);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &mem, &size);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = 4;
    cinfo.in_color_space = JCS_EXT_RGBX;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.optimize_coding = TRUE;
    if (quality >= 90) {
        for (int i = 0; i < cinfo.num_components; i++) {
            cinfo.comp_info[i].h_samp_factor = 1;
            cinfo.comp_info[i].v_samp_factor = 1;
        }
    }
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = mem;
    *out_size = size;
    return 0;
}

int CKilnShims_jpeg_lib_version(void) {
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
    return LIBJPEG_TURBO_VERSION_NUMBER;
#else
    return JPEG_LIB_VERSION;
#endif
}
