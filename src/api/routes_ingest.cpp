// HTTP ingest route: adapts ingest::HttpIngest to the router.
#include "api/routes_ingest.h"

namespace medsoc::api {

void RegisterIngestRoutes(Router& router, ApiServices& s, ingest::HttpIngest& ingest) {
  router.Add({.method = Method::kPost,
              .pattern = "/api/v1/ingest",
              .permission = auth::Permission::kIngestWrite,
              .summary = "Ingest events: NDJSON, a JSON array of objects, or text lines; Content-Encoding gzip or "
                         "zstd. Answers 200 only once the events are durable; 429/503 with Retry-After under overload",
              .tag = "ingest",
              .query_params = {{.name = "source", .description = "source name stored on the events (default: http)"},
                               {.name = "format", .description = "parser name, or auto (default)"},
                               {.name = "dataset",
                                .description = "event.dataset of every event (e.g. his.audit, pacs.dicom, hl7.interface, "
                                               "vpn.auth); default: what the parser sets"}},
              .response_schema = R"({"type":"object","properties":{"accepted":{"type":"integer"},
                "failed_to_parse":{"type":"integer"}}})"},
             [&ingest](RequestContext& ctx) {
               const Request& req = ctx.request();
               ingest::HttpIngestRequest in;
               in.tenant = ctx.principal().active_tenant_id;
               if (auto v = req.Query("source")) in.source = std::string(*v);
               if (auto v = req.Query("format"); v && *v != "auto") in.format = std::string(*v);
               if (auto v = req.Query("dataset")) in.dataset = std::string(*v);
               if (in.source.size() > 128) return ErrorResponse(400, "bad_request", "source is longer than 128 bytes");
               in.body = req.body;
               if (auto v = req.Header("content-encoding")) in.content_encoding = *v;
               in.remote_ip = req.remote_ip;
               const ingest::HttpIngestResult r = ingest.Handle(in);
               ctx.audit_detail = "accepted=" + std::to_string(r.accepted) + " status=" + std::to_string(r.status) +
                                  (in.source.empty() ? "" : " source=" + in.source);
               if (r.status != 200) {
                 Response resp = ErrorResponse(r.status, r.error_code, r.message);
                 if (r.retry_after_seconds > 0) resp.SetHeader("Retry-After", std::to_string(r.retry_after_seconds));
                 return resp;
               }
               return JsonResponse(200, {{"accepted", r.accepted}, {"failed_to_parse", r.failed_to_parse}});
             });
  (void)s;
}

}  // namespace medsoc::api
