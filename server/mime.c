/* server/mime.c: implements server/mime.h, Content-Type guessing from an
 * object name the way Swift's proxy does it (Python's mimetypes.guess_type
 * on a Debian host: its built-in map overlaid with /etc/mime.types). The
 * table is built in, sorted by extension for bsearch, so the answer never
 * depends on the host swiftlet runs on. */
#include "mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mime_type {
    const char *ext;    /* without the dot, as mimetypes spells it */
    const char *type;
};

static const struct mime_type types[] = {
    {"3g2", "audio/3gpp2"},
    {"3gp", "audio/3gpp"},
    {"3gpp", "audio/3gpp"},
    {"3gpp2", "audio/3gpp2"},
    {"7z", "application/x-7z-compressed"},
    {"a", "text/vnd.a"},
    {"aac", "audio/aac"},
    {"adts", "audio/aac"},
    {"ai", "application/postscript"},
    {"aif", "audio/x-aiff"},
    {"aifc", "audio/x-aiff"},
    {"aiff", "audio/x-aiff"},
    {"apk", "application/vnd.android.package-archive"},
    {"ass", "audio/aac"},
    {"au", "audio/basic"},
    {"avi", "video/x-msvideo"},
    {"avif", "image/avif"},
    {"bat", "application/x-msdos-program"},
    {"bcpio", "application/x-bcpio"},
    {"bin", "application/octet-stream"},
    {"bmp", "image/bmp"},
    {"c", "text/x-csrc"},
    {"cab", "application/vnd.ms-cab-compressed"},
    {"cc", "text/x-c++src"},
    {"cdf", "application/x-cdf"},
    {"cpio", "application/x-cpio"},
    {"cpp", "text/x-c++src"},
    {"csh", "text/x-csh"},
    {"css", "text/css"},
    {"csv", "text/csv"},
    {"deb", "application/vnd.debian.binary-package"},
    {"dll", "application/x-msdos-program"},
    {"dmg", "application/x-apple-diskimage"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"dot", "text/vnd.graphviz"},
    {"dvi", "application/x-dvi"},
    {"eml", "message/rfc822"},
    {"eps", "application/postscript"},
    {"epub", "application/epub+zip"},
    {"etx", "text/x-setext"},
    {"exe", "application/x-msdos-program"},
    {"flac", "audio/flac"},
    {"flv", "video/x-flv"},
    {"gif", "image/gif"},
    {"gtar", "application/x-gtar"},
    {"gz", "application/gzip"},
    {"h", "text/x-chdr"},
    {"h5", "application/x-hdf5"},
    {"hdf", "application/x-hdf"},
    {"heic", "image/heic"},
    {"heif", "image/heif"},
    {"hpp", "text/x-c++hdr"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"ico", "image/vnd.microsoft.icon"},
    {"ics", "text/calendar"},
    {"ief", "image/ief"},
    {"iso", "application/x-iso9660-image"},
    {"jar", "application/java-archive"},
    {"java", "text/x-java"},
    {"jpe", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"jsonld", "application/ld+json"},
    {"ksh", "text/plain"},
    {"latex", "application/x-latex"},
    {"loas", "audio/usac"},
    {"m1v", "video/mpeg"},
    {"m3u", "audio/mpegurl"},
    {"m3u8", "application/vnd.apple.mpegurl"},
    {"m4a", "audio/mp4"},
    {"m4v", "video/mp4"},
    {"man", "application/x-troff-man"},
    {"markdown", "text/markdown"},
    {"md", "text/markdown"},
    {"me", "application/x-troff-me"},
    {"mht", "message/rfc822"},
    {"mhtml", "message/rfc822"},
    {"mid", "audio/sp-midi"},
    {"mif", "application/vnd.mif"},
    {"mjs", "text/javascript"},
    {"mkv", "video/x-matroska"},
    {"mov", "video/quicktime"},
    {"movie", "video/x-sgi-movie"},
    {"mp2", "audio/mpeg"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"mpa", "video/mpeg"},
    {"mpe", "video/mpeg"},
    {"mpeg", "video/mpeg"},
    {"mpg", "video/mpeg"},
    {"ms", "application/x-troff-ms"},
    {"msi", "application/x-msi"},
    {"n3", "text/n3"},
    {"nc", "application/x-netcdf"},
    {"nq", "application/n-quads"},
    {"nt", "application/n-triples"},
    {"nws", "message/rfc822"},
    {"o", "application/x-object"},
    {"obj", "model/obj"},
    {"oda", "application/ODA"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"p12", "application/pkcs12"},
    {"p7c", "application/pkcs7-mime"},
    {"pbm", "image/x-portable-bitmap"},
    {"pdf", "application/pdf"},
    {"pfx", "application/pkcs12"},
    {"pgm", "image/x-portable-graymap"},
    {"pl", "text/x-perl"},
    {"png", "image/png"},
    {"pnm", "image/x-portable-anymap"},
    {"pot", "text/plain"},
    {"ppa", "application/vnd.ms-powerpoint"},
    {"ppm", "image/x-portable-pixmap"},
    {"pps", "application/vnd.ms-powerpoint"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"ps", "application/postscript"},
    {"psd", "image/vnd.adobe.photoshop"},
    {"pwz", "application/vnd.ms-powerpoint"},
    {"py", "text/x-python"},
    {"pyc", "application/x-python-code"},
    {"pyo", "application/x-python-code"},
    {"qt", "video/quicktime"},
    {"ra", "audio/x-pn-realaudio"},
    {"ram", "audio/x-pn-realaudio"},
    {"rar", "application/vnd.rar"},
    {"ras", "image/x-cmu-raster"},
    {"rb", "application/x-ruby"},
    {"rdf", "application/rdf+xml"},
    {"rgb", "image/x-rgb"},
    {"roff", "text/troff"},
    {"rpm", "application/x-redhat-package-manager"},
    {"rs", "application/rls-services+xml"},
    {"rtf", "application/rtf"},
    {"rtx", "text/richtext"},
    {"sgm", "text/SGML"},
    {"sgml", "text/SGML"},
    {"sh", "text/x-sh"},
    {"shar", "application/x-shar"},
    {"snd", "audio/basic"},
    {"so", "application/octet-stream"},
    {"sql", "application/sql"},
    {"src", "application/x-wais-source"},
    {"srt", "text/plain"},
    {"sv4cpio", "application/x-sv4cpio"},
    {"sv4crc", "application/x-sv4crc"},
    {"svg", "image/svg+xml"},
    {"swf", "application/vnd.adobe.flash.movie"},
    {"t", "text/troff"},
    {"tar", "application/x-tar"},
    {"tcl", "text/x-tcl"},
    {"tex", "text/x-tex"},
    {"texi", "application/x-texinfo"},
    {"texinfo", "application/x-texinfo"},
    {"text", "text/plain"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"torrent", "application/x-bittorrent"},
    {"tr", "text/troff"},
    {"trig", "application/trig"},
    {"ts", "text/vnd.trolltech.linguist"},
    {"tsv", "text/tab-separated-values"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain"},
    {"ustar", "application/x-ustar"},
    {"vcf", "text/vcard"},
    {"vtt", "text/vtt"},
    {"wasm", "application/wasm"},
    {"wav", "audio/x-wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"wiz", "application/msword"},
    {"wmv", "video/x-ms-wmv"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"wsdl", "application/wsdl+xml"},
    {"xbm", "image/x-xbitmap"},
    {"xcf", "image/x-xcf"},
    {"xhtml", "application/xhtml+xml"},
    {"xlb", "application/vnd.ms-excel"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xml", "application/xml"},
    {"xpdl", "application/xml"},
    {"xpm", "image/x-xpixmap"},
    {"xsl", "application/xslt+xml"},
    {"xwd", "image/x-xwindowdump"},
    {"zip", "application/zip"},
    {"zst", "application/zstd"},
};

/* mimetypes.suffix_map: these stand for ".<inner>.<compression>", and the
 * compression suffix is then looked through. */
static const struct mime_type suffixes[] = {
    {"svgz", "svg"}, {"tgz", "tar"}, {"taz", "tar"}, {"tz", "tar"}, {"tbz2", "tar"}, {"txz", "tar"},
};

/* mimetypes.encodings_map keys (case-sensitive, as Python has them). */
static const char *const encodings[] = {"gz", "Z", "bz2", "xz", "br"};

static int type_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct mime_type *)elem)->ext);
}

/* posixpath.splitext on s[0..n) (no '/' inside): the extension without
 * its dot, or NULL. Leading dots belong to the name (".bashrc"). */
static const char *ext_of(const char *s, size_t n, size_t *elen)
{
    size_t dot = n;
    for (size_t i = n; i-- > 0;)
        if (s[i] == '.') {
            dot = i;
            break;
        }
    if (dot == n)
        return NULL;
    for (size_t i = 0; i < dot; i++)
        if (s[i] != '.') {
            *elen = n - dot - 1;
            return s + dot + 1;
        }
    return NULL;
}

static const char *lookup(const char *ext, size_t elen)
{
    char low[16];
    const struct mime_type *t;

    if (elen == 0 || elen >= sizeof(low))
        return NULL;
    for (size_t i = 0; i < elen; i++)
        low[i] = (ext[i] >= 'A' && ext[i] <= 'Z') ? (char)(ext[i] - 'A' + 'a') : ext[i];
    low[elen] = '\0';
    t = bsearch(low, types, sizeof(types) / sizeof(types[0]), sizeof(types[0]), type_cmp);
    return t ? t->type : NULL;
}

const char *mime_guess(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    size_t blen = strlen(base), elen = 0;
    const char *ext = ext_of(base, blen, &elen), *type = NULL;

    if (!ext)
        return "application/octet-stream";
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
        if (strlen(suffixes[i].ext) == elen && strncasecmp(ext, suffixes[i].ext, elen) == 0)
            ext = suffixes[i].type, elen = strlen(ext);
    for (size_t i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++)
        if (strlen(encodings[i]) == elen && strncmp(ext, encodings[i], elen) == 0) {
            blen = (size_t)(ext - 1 - base);
            ext = ext_of(base, blen, &elen);
            break;
        }
    if (ext)
        type = lookup(ext, elen);
    return type ? type : "application/octet-stream";
}
