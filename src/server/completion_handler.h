// POST /v1/chat/completions and POST /v1/completions: request → prompt ids → GenerationJob → OpenAI JSON,
// or SSE chunks ("data: {...}\n\n" … "data: [DONE]\n\n") when stream is true.
#pragma once

#include <httplib.h>

#include <string>
#include <vector>

#include "server/generation_job.h"
#include "server/metrics.h"
#include "server/request.h"
#include "server/server.h"

namespace whale::server {

class CompletionHandler {
 public:
  CompletionHandler(ServedModel& model, const ServerOptions& options, Metrics& metrics)
      : model_(model), options_(options), metrics_(metrics) {}

  void chat(const httplib::Request& req, httplib::Response& res);
  void completion(const httplib::Request& req, httplib::Response& res);

 private:
  enum class Kind { kChat, kText };
  // Checks the prompt against the context, starts the job and writes the response (JSON or a stream).
  void run(Kind kind, std::vector<int32_t> prompt, const GenerationRequest& gen, const JobOptions& job_options,
           httplib::Response& res);

  ServedModel& model_;
  const ServerOptions& options_;
  Metrics& metrics_;
};

}  // namespace whale::server
