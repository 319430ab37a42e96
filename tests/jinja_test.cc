// Unit tests of the Jinja interpreter behind chat templates. Expected strings follow Jinja2 3.1 with
// transformers' settings (trim_blocks, lstrip_blocks, Python str() of values).
#include <gtest/gtest.h>
#include <pthread.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <string>

#include "core/error.h"
#include "tokenizer/jinja/template.h"

namespace whale::jinja {
namespace {

std::string render(const std::string& source, const nlohmann::json& context = nlohmann::json::object(),
                   Limits limits = {}) {
  Template t(source, "test", limits);
  Dict d;
  for (const auto& [k, v] : context.items()) d.set(k, Value::from_json(v));
  return t.render(d);
}

// Renders and returns the whale::Error message; fails the test if nothing is thrown.
std::string error_of(const std::string& source, const nlohmann::json& context = nlohmann::json::object(),
                     Limits limits = {}) {
  try {
    render(source, context, limits);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << source;
  return "";
}

TEST(Jinja, OutputsAndLiterals) {
  EXPECT_EQ(render("Hello {{ name }}!", {{"name", "World"}}), "Hello World!");
  EXPECT_EQ(render("{{ none }} {{ true }} {{ False }} {{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1.5e-5 }}"),
            "None True False 1.0 0.30000000000000004 1e+20 1.5e-05");
  EXPECT_EQ(render("{{ [1, 'a', none, true] }} {{ {'a': 1, 'b': [2]} }} {{ [\"it's\"] }}"),
            "[1, 'a', None, True] {'a': 1, 'b': [2]} [\"it's\"]");
  EXPECT_EQ(render("{{ 'a' 'b' }}{{ \"\\t|\\n|\\u00e9|\\x41\" }}"), "ab\t|\n|\xc3\xa9|A");
}

TEST(Jinja, Arithmetic) {
  EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }}"),
            "7 9 3 -4 1 2");
  EXPECT_EQ(render("{{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }} {{ 1.5 * 2 }} {{ -(3) }}"), "3.5 2.0 1024 3.0 -3");
  EXPECT_EQ(render("{{ 'ab' * 2 }} {{ [1] + [2] }} {{ 'a' + 'b' }} {{ 'a' ~ 1 ~ none }}"), "abab [1, 2] ab a1None");
}

TEST(Jinja, UndefinedBehavesLikeJinjaDefault) {
  EXPECT_EQ(render("[{{ nope }}]"), "[]");
  EXPECT_EQ(render("{{ nope is defined }} {{ nope is undefined }} {{ not nope is defined }}"), "False True True");
  EXPECT_EQ(render("{% if nope %}y{% else %}n{% endif %}{% for x in nope %}x{% endfor %}"), "n");
  EXPECT_EQ(render("{{ nope|length }} {{ nope|default('d') }} {{ nope == nope }} {{ m.missing is defined }}",
                   {{"m", nlohmann::json::object()}}),
            "0 d True False");
  EXPECT_NE(error_of("{{ nope + 1 }}").find("'nope' is undefined"), std::string::npos);
  EXPECT_NE(error_of("{{ nope.attr }}").find("'nope' is undefined"), std::string::npos);
}

TEST(Jinja, AttributesSubscriptsAndSlices) {
  nlohmann::json ctx = {{"m", {{"role", "user"}, {"n", {1, 2, 3, 4}}}}};
  EXPECT_EQ(render("{{ m.role }}{{ m['role'] }}[{{ m.missing }}]{{ m.n[0] }}{{ m.n[-1] }}[{{ m.n[9] }}]", ctx),
            "useruser[]14[]");
  EXPECT_EQ(render("{{ m.n[1:] }} {{ m.n[-2:] }} {{ m.n[::2] }} {{ m.n[::-1] }} {{ m.n[1:3] }}", ctx),
            "[2, 3, 4] [3, 4] [1, 3] [4, 3, 2, 1] [2, 3]");
  // Strings index by code point, like Python.
  EXPECT_EQ(render("{{ 'abc'[::-1] }} {{ 'h\xc3\xa9llo'[1] }} {{ 'h\xc3\xa9llo'[1:3] }} {{ 'h\xc3\xa9llo'|length }}"),
            "cba \xc3\xa9 \xc3\xa9l 5");
}

TEST(Jinja, ComparisonsAndLogic) {
  EXPECT_EQ(render("{{ 1 < 2 < 3 }} {{ 3 < 2 < 4 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 'b' >= 'a' }}"),
            "True False True True True");
  EXPECT_EQ(render("{{ 'b' in 'abc' }} {{ 2 not in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' in {'k': 1} }}"),
            "True False True False");
  EXPECT_EQ(render("{{ 0 or 'x' }} {{ 1 and 'y' }} {{ not 0 }} {{ none or false }}"), "x y True False");
  EXPECT_EQ(render("{{ 'a' if x else 'b' }}[{{ 'a' if x }}]", {{"x", false}}), "b[]");
  EXPECT_EQ(render("{{ 1 if false else 2 if false else 3 }}"), "3");
}

TEST(Jinja, ForLoops) {
  EXPECT_EQ(render("{% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ x }}{{ loop.first }}"
                   "{{ loop.last }}{{ loop.length }}{{ loop.revindex }};{% endfor %}"),
            "10aTrueFalse33;21bFalseFalse32;32cFalseTrue31;");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  nlohmann::json ctx = {{"d", {{"a", 1}, {"b", 2}}}};
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}", ctx), "a=1,b=2,");
  EXPECT_EQ(render("{% for k, v in d|items %}{{ k }}{{ v }}{% endfor %}{% for k in d %}{{ k }}{% endfor %}", ctx),
            "a1b2ab");
  EXPECT_EQ(render("{% for x in range(6) if x is even %}{{ x }}{{ loop.length }} {% endfor %}"), "03 23 43 ");
  EXPECT_EQ(render("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}"
                   "{% endif %}{{ x }}{% endfor %}"),
            "013");
  EXPECT_EQ(render("{% for c in 'h\xc3\xa9' %}[{{ c }}]{% endfor %}"), "[h][\xc3\xa9]");
  EXPECT_EQ(render("{% for x in [1,2,3] %}{{ loop.cycle('a','b') }}{{ loop.previtem }}{% endfor %}"), "ab1a2");
}

TEST(Jinja, SetScopingAndNamespace) {
  EXPECT_EQ(render("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}"), "21");
  EXPECT_EQ(render("{% set ns = namespace(x=1) %}{% for i in [1,2] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}"),
            "4");
  EXPECT_EQ(render("{% if true %}{% set y = 5 %}{% endif %}{{ y }}"), "5");
  EXPECT_EQ(render("{% set s %}a{{ 1 }}b{% endset %}[{{ s }}]"), "[a1b]");
  EXPECT_EQ(render("{% set a, b = [1, 2] %}{{ b }}{{ a }}"), "21");
  EXPECT_NE(error_of("{% set d = {} %}{% set d.x = 1 %}").find("only namespace() objects"), std::string::npos);
}

TEST(Jinja, Macros) {
  EXPECT_EQ(render("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}"
                   "{{ greet('Bob') }} {{ greet('Al', punct='?') }}"),
            "Hi Bob! Hi Al?");
  EXPECT_EQ(render("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}"), "321");
}

TEST(Jinja, Filters) {
  EXPECT_EQ(render("{{ '  hi  '|trim }}|{{ 'Ab'|upper }}|{{ 'Ab'|lower }}|{{ [1,2,3]|length }}|{{ [1,2,3]|first }}|"
                   "{{ [1,2,3]|last }}|{{ [1,2,3]|join(', ') }}|{{ 'aXbX'|replace('X', '-') }}|{{ ''|default('d') }}|"
                   "{{ ''|default('d', true) }}|{{ 3|string ~ 'x' }}|{{ 'ab'|list }}|{{ [1,2]|reverse|list }}"),
            "hi|AB|ab|3|1|3|1, 2, 3|a-b-||d|3x|['a', 'b']|[2, 1]");
  EXPECT_EQ(render("{{ '12'|int + 1 }} {{ 'x'|int }} {{ '2.5'|float }} {{ -3|abs }} {{ [3,1,2]|sort }} {{ 'hello "
                   "world'|title }}"),
            "13 0 2.5 3 [1, 2, 3] Hello World");
  nlohmann::json msgs = {{"msgs",
                          {{{"role", "user"}, {"content", "a"}},
                           {{"role", "assistant"}, {"content", "b"}},
                           {{"role", "user"}, {"content", "c"}}}}};
  EXPECT_EQ(render("{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|join }}", msgs), "ac");
  EXPECT_EQ(render("{{ msgs|rejectattr('role', 'equalto', 'user')|map(attribute='content')|list }}", msgs), "['b']");
  EXPECT_EQ(render("{{ msgs|map(attribute='role')|map('upper')|join(',') }}", msgs), "USER,ASSISTANT,USER");
  EXPECT_EQ(
      render("{{ msgs|selectattr('role')|list|length }} {{ [0, 1, 2]|select|list }} {{ [1, 2, 3]|reject('odd')|list }}",
             msgs),
      "3 [1, 2] [2]");
  EXPECT_EQ(render("{{ 'a\nb\n\nc'|indent(2) }}|{{ 'x'|indent(2, true) }}"), "a\n  b\n\n  c|  x");
}

TEST(Jinja, ToJsonMatchesPythonJsonDumps) {
  // Insertion order kept, ensure_ascii=False, separators ", " and ": ".
  EXPECT_EQ(render("{{ {'b': 1, 'a': [1, 2.5, 'x\"y', none, true]}|tojson }}"),
            "{\"b\": 1, \"a\": [1, 2.5, \"x\\\"y\", null, true]}");
  EXPECT_EQ(render("{{ {'a': [1, {}], '\xc3\xa9': []}|tojson(indent=2) }}"),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"\xc3\xa9\": []\n}");
  EXPECT_EQ(render("{{ '\xc3\xa9\n\x01'|tojson }} {{ '\xc3\xa9\xf0\x9f\x98\x80'|tojson(ensure_ascii=true) }}"),
            "\"\xc3\xa9\\n\\u0001\" \"\\u00e9\\ud83d\\ude00\"");
  EXPECT_EQ(render("{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }} {{ [1, 2]|tojson(separators=[',', ':']) }}"),
            "{\"a\": 2, \"b\": 1} [1,2]");
  EXPECT_NE(error_of("{{ nope|tojson }}").find("not JSON serializable"), std::string::npos);
  EXPECT_NE(error_of("{{ [1]|tojson(indent=10**12) }}").find("indent must be an integer"), std::string::npos);
}

TEST(Jinja, Methods) {
  EXPECT_EQ(render("{{ '  x '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  x '.lstrip() }}|{{ '  x '.rstrip() }}|"
                   "{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a</think>b</think>c'.split('</think>')[-1] }}|"
                   "{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ 'aaa'.replace('a', 'b', 2) }}|"
                   "{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}|{{ '-'.join(['a', 'b']) }}"),
            "x|hi|x |  x|['a', 'b', '', 'c']|['a', 'b']|c|True|True|bba|ABab|a-b");
  nlohmann::json ctx = {{"d", {{"a", 1}, {"b", 2}}}};
  EXPECT_EQ(
      render("{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 0) }} {{ d.keys()|list }} {{ d.values()|list }}", ctx),
      "1 None 0 ['a', 'b'] [1, 2]");
  EXPECT_NE(error_of("{{ 'a'.zzz() }}").find("unsupported method 'zzz'"), std::string::npos);
}

TEST(Jinja, Tests) {
  EXPECT_EQ(render("{{ 1 is number }}{{ 'a' is string }}{{ {} is mapping }}{{ [] is mapping }}{{ none is none }}"
                   "{{ 1 is not none }}{{ 3 is odd }}{{ 4 is divisibleby 2 }}{{ [] is iterable }}{{ 1 is iterable }}"
                   "{{ true is boolean }}{{ 1 is integer }}{{ 1.0 is float }}{{ 2 is in [1, 2] }}{{ 'a' is eq 'a' }}"),
            "TrueTrueTrueFalseTrueTrueTrueTrueTrueFalseTrueTrueTrueTrueTrue");
  EXPECT_NE(error_of("{{ 1 is frobnicated }}").find("unsupported test 'frobnicated'"), std::string::npos);
}

TEST(Jinja, WhitespaceControl) {
  EXPECT_EQ(render("a  {{- 'b' -}}  c"), "abc");
  EXPECT_EQ(render("a\n  {%- if true -%}\n  b\n  {%- endif -%}\n  c"), "abc");
  EXPECT_EQ(render("a {# comment #} b|a {#- c -#} b"), "a  b|ab");
}

TEST(Jinja, TrimAndLstripBlocks) {
  EXPECT_EQ(render("{% if true %}\nyes\n{% endif %}\nend"), "yes\nend");
  EXPECT_EQ(render("<\n    {% if true %}\n    x\n    {% endif %}\n>"), "<\n    x\n>");
  EXPECT_EQ(render("  {% if true %}x{% endif %}"), "x");     // lstrip at the start of the template
  EXPECT_EQ(render("  {{ 'x' }}"), "  x");                   // not for variable tags
  EXPECT_EQ(render("a {% if true %}x{% endif %}"), "a x");   // not when text precedes the tag
  EXPECT_EQ(render("  {%+ if true %}x{% endif %}"), "  x");  // `+` disables lstrip
  EXPECT_EQ(render("{% if true +%}\nx{% endif %}"), "\nx");  // `+` disables trim
  EXPECT_EQ(render("a\n  {# c #}\nb"), "a\nb");              // comments too
  EXPECT_EQ(render("{{ 'x' }}\ny"), "x\ny");                 // no trim after `}}`
  EXPECT_EQ(render("x\n"), "x");                             // trailing newline dropped
  EXPECT_EQ(render("x\r\ny\n\n"), "x\ny\n");
}

TEST(Jinja, GenerationBlockIsTransparent) { EXPECT_EQ(render("a{% generation %}b{% endgeneration %}c"), "abc"); }

TEST(Jinja, SyntaxErrorsNameTemplateAndLine) {
  std::string e = error_of("{{ x ");
  EXPECT_NE(e.find("test: "), std::string::npos) << e;
  EXPECT_NE(e.find("unclosed tag"), std::string::npos) << e;
  e = error_of("ok\n{% if x %}abc");
  EXPECT_NE(e.find("'{% if %}' opened on line 2 is never closed"), std::string::npos) << e;
  EXPECT_NE(error_of("{% include 'x' %}").find("unsupported tag '{% include %}'"), std::string::npos);
  EXPECT_NE(error_of("{{ 'abc }}").find("unclosed string"), std::string::npos);
  EXPECT_NE(error_of("{# abc").find("unclosed comment"), std::string::npos);
  EXPECT_NE(error_of("{{ 1 + }}").find("unexpected '}}'"), std::string::npos);
  EXPECT_NE(error_of("{{ a ; b }}").find("unexpected character ';'"), std::string::npos);
  EXPECT_NE(error_of("{% endfor %}").find("unsupported tag"), std::string::npos);
}

TEST(Jinja, RuntimeErrors) {
  std::string e = error_of("line1\n{{ x|xyz }}", {{"x", 1}});
  EXPECT_EQ(e, "test: line 2: unsupported filter 'xyz'");
  e = error_of("{{ raise_exception('Conversation roles must alternate') }}");
  EXPECT_NE(e.find("raise_exception: Conversation roles must alternate"), std::string::npos) << e;
  EXPECT_NE(error_of("{{ 'a' + 1 }}").find("unsupported operand types for +: 'str' and 'int'"), std::string::npos);
  EXPECT_NE(error_of("{{ 1 // 0 }}").find("division by zero"), std::string::npos);
  EXPECT_NE(error_of("{{ 9223372036854775807 + 1 }}").find("integer overflow"), std::string::npos);
  EXPECT_NE(error_of("{{ 1 < 'a' }}").find("cannot order"), std::string::npos);
  EXPECT_NE(error_of("{% for x in 5 %}{% endfor %}").find("not iterable"), std::string::npos);
  EXPECT_NE(error_of("{{ nope() }}").find("'nope' is undefined"), std::string::npos);
}

TEST(Jinja, RunawayTemplatesStopWithErrors) {
  // Unbounded macro recursion.
  EXPECT_NE(error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").find("call depth"), std::string::npos);
  // Pathologically nested expression.
  std::string deep = "{{ " + std::string(500, '(') + "1" + std::string(500, ')') + " }}";
  EXPECT_NE(error_of(deep).find("nested too deeply"), std::string::npos);
  std::string nested;
  for (int i = 0; i < 300; ++i) nested += "{% if true %}";
  EXPECT_NE(error_of(nested).find("nested too deeply"), std::string::npos);
  Limits small;
  small.max_output_bytes = 1000;
  EXPECT_NE(error_of("{% for i in range(90) %}{{ 'xxxxxxxxxxxxxxx' }}{% endfor %}", {}, small).find("output exceeds"),
            std::string::npos);
  // Exponential string growth is refused by size, not left to exhaust memory.
  EXPECT_NE(error_of("{% set ns = namespace(s='ab') %}{% for i in range(80) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
                     {}, small)
                .find("exceeds the output limit"),
            std::string::npos);
}

// Thread CPU seconds that `fn` takes (not wall time: the test machine may be loaded).
double cpu_seconds(const std::function<void()>& fn) {
  auto now = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
  };
  const double start = now();
  fn();
  return now() - start;
}

// A hostile template under the default limits: a whale::Error naming `limit` and the line, fast (the budget is
// about a second here; 5 s leaves room for sanitizer builds, and is far from the tens of seconds unlimited).
void expect_stopped(const std::string& source, const std::string& limit) {
  std::string e;
  const double seconds = cpu_seconds([&] { e = error_of(source); });
  EXPECT_NE(e.find(limit), std::string::npos) << e;
  EXPECT_NE(e.find("test: line "), std::string::npos) << e;
  EXPECT_LT(seconds, 5.0) << source;
  std::printf("  %.3f s CPU to stop %s\n", seconds, source.c_str());
}

TEST(Jinja, StepBudgetStopsLoopsAndRecursion) {
  expect_stopped("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                 "evaluation exceeds the limit of 4000000 steps");
  expect_stopped("{% for i in range(100000) %}{% for j in range(100000) %}{{ loop.index }}{% endfor %}{% endfor %}",
                 "evaluation exceeds the limit of 4000000 steps");
  // Exponential recursion within the depth limit: 2**60 calls.
  expect_stopped("{% macro f(n) %}{% if n < 60 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}",
                 "evaluation exceeds the limit");
  // Quadratic string building: each step copies the string so far, and is charged by its size.
  expect_stopped(
      "{% set ns = namespace(s='') %}{% for i in range(100000) %}{% set ns.s = ns.s ~ 'y' * 100 %}"
      "{% endfor %}",
      "evaluation exceeds the limit");
  // Work on a big value is charged by its size: 16 MB measured over and over.
  expect_stopped("{% set s = 'x' * 16000000 %}{% for i in range(100000) %}{{ s|length }}{% endfor %}",
                 "evaluation exceeds the limit");
  // A small budget: 5 iterations fit in 200 steps, 50 do not.
  Limits tiny;
  tiny.max_steps = 200;
  EXPECT_EQ(render("{% for i in range(5) %}x{% endfor %}", {}, tiny), "xxxxx");
  EXPECT_NE(error_of("{% for i in range(50) %}x{% endfor %}", {}, tiny).find("evaluation exceeds the limit of 200"),
            std::string::npos);
}

TEST(Jinja, RangeAndListsAreCappedBeforeTheyAreBuilt) {
  expect_stopped("{% for i in range(100000000) %}{% endfor %}", "range() of more than the limit of 100000 items");
  expect_stopped("{{ range(-9223372036854775807, 9223372036854775807)|length }}", "range() of more than the limit");
  EXPECT_EQ(render("{{ range(0, 10, 3)|list }} {{ range(10, 0, -3)|list }} {{ range(5, 1)|list }}"),
            "[0, 3, 6, 9] [10, 7, 4, 1] []");
  expect_stopped("{{ ('x' * 200000)|list|length }}", "iterating over 200000 items exceeds the limit of 100000");
  expect_stopped("{% for c in 'x' * 200000 %}{% endfor %}", "exceeds the limit of 100000 items");
  expect_stopped("{{ ('x' * 200000).split('x')|length }}", "str.split: more than the limit of 100000 parts");
}

TEST(Jinja, StringsAreCappedBeforeTheyAreBuilt) {
  expect_stopped("{{ 'x' * 10**9 }}", "repeating 1 bytes 1000000000 times exceeds the output limit");
  expect_stopped("{{ 'ab' * 9223372036854775807 }}", "exceeds the output limit");  // no overflow of 2 * n
  EXPECT_EQ(render("[{{ '' * 10**18 }}{{ 'ab' * -3 }}{{ [] * 10**18 }}]"), "[[]]");
  EXPECT_EQ(render("{{ 'ab' * 3 }} {{ [1] * 2 }} {{ ('xy' * 5000001)|length }}"), "ababab [1, 1] 10000002");
  expect_stopped("{{ ('x' * 1000000).replace('', 'yyyyyyyyyyyyyyyyyyyy') }}", "exceeds the output limit");
  // Shared structure: small in memory, 16 GB as text.
  expect_stopped("{% set a = ['x' * 16000] * 1000 %}{% set b = [a] * 1000 %}{{ b }}", "exceeds the output limit");
  expect_stopped("{% set a = ['x' * 16000] * 1000 %}{{ ([a] * 1000)|tojson(indent=4) }}", "exceeds the output limit");
  expect_stopped("{% set a = ['x' * 16000] * 1000 %}{{ ([a] * 1000)|join(',') }}", "exceeds the output limit");
  Limits small;
  small.max_output_bytes = 1000;
  EXPECT_EQ(render("{{ 'x' * 1000 }}", {}, small), std::string(1000, 'x'));
  EXPECT_NE(error_of("{{ 'x' * 1001 }}", {}, small).find("exceeds the output limit of 1000 bytes"), std::string::npos);
}

TEST(Jinja, NestingIsBoundedSoNoWalkOverflowsTheStack) {
  // A list wrapped in itself 100 levels deep, a namespace holding itself: refused, not recursed over.
  expect_stopped("{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = [ns.l] %}{% endfor %}",
                 "nested deeper than 100 levels");
  expect_stopped("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}",
                 "cannot set attribute 'me' on 'ns' to a namespace");
  EXPECT_NE(error_of("{{ namespace(x=namespace()) }}").find("a namespace cannot hold a namespace"), std::string::npos);
  EXPECT_EQ(
      render("{% set ns = namespace(l=[]) %}{% for i in range(3) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}"),
      "[[[[]]]]");
  // Statements, expressions and macro calls nested 1000 levels deep take under 0.5 MB of stack (more under
  // sanitizers): a render on a thread with a 4 MB stack stops with an error where an unbounded one crashes.
  std::string open, close;
  for (int i = 0; i < 8; ++i) {
    open += "{% if true %}";
    close += "{% endif %}";
  }
  const std::string recursive =
      "{% macro f(n) %}" + open + "{{ [[[[f(n + 1)]]]] }}" + close + "{% endmacro %}{{ f(0) }}";
  Limits deep_calls;
  deep_calls.max_call_depth = 100000;
  std::string e;
  auto run = [&] { e = error_of(recursive, {}, deep_calls); };
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, size_t(4) << 20);
  pthread_t thread;
  ASSERT_EQ(pthread_create(
                &thread, &attr, [](void* fn) -> void* { return (*static_cast<decltype(run)*>(fn))(), nullptr; }, &run),
            0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_NE(e.find("template evaluation nested deeper than the limit of 1000 levels"), std::string::npos) << e;
  nlohmann::json deep_json = 1;
  for (int i = 0; i < 200; ++i) deep_json = nlohmann::json::array({deep_json});
  EXPECT_NE(error_of("{{ x }}", {{"x", deep_json}}).find("JSON nested deeper than 100 levels"), std::string::npos);
}

}  // namespace
}  // namespace whale::jinja
