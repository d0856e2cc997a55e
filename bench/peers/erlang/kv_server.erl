%% kv_server: the gen_server whose hot code upgrade the Erlang/OTP peer
%% baseline measures (see peer_bench.erl and ../erlang.ts).
%%
%% The same source is compiled twice, with -DVSN=1 and -DVSN=2, so the two
%% .beam files really are two versions of one module: they differ in their
%% `vsn` attribute and in what version/0 (the `version` call) answers.  The
%% benchmark alternates between them (1 -> 2 -> 1 -> ...), which is what a
%% release upgrade followed by a downgrade does.
%%
%% State: #st{entries = #{Key => {Generation, Value}}, casts = Count}.
%% Values carry a generation counter so that the transforming code_change
%% rewrites every entry (Generation + 1) while the state keeps a constant size
%% however many upgrades run; `casts` counts the asynchronous messages
%% received, so the benchmark can check that no cast was lost across upgrades.
-module(kv_server).
-behaviour(gen_server).

-ifndef(VSN).
-define(VSN, 1).
-endif.
-vsn(?VSN).

-export([init/1, handle_call/3, handle_cast/2, handle_info/2,
         code_change/3, terminate/2]).

-record(st, {entries = #{} :: #{non_neg_integer() => {non_neg_integer(), term()}},
             casts = 0 :: non_neg_integer()}).

%% N entries, key I => {0, I}.  Built with maps:from_list because it is the
%% fastest way to make a 1M-entry map (the build is not part of any timing).
init(N) when is_integer(N), N >= 0 ->
    Entries = maps:from_list([{I, {0, I}} || I <- lists:seq(1, N)]),
    {ok, #st{entries = Entries}}.

handle_call({echo, X}, _From, St) ->
    {reply, X, St};
handle_call(version, _From, St) ->
    {reply, ?VSN, St};
handle_call({get, K}, _From, St = #st{entries = E}) ->
    {reply, maps:find(K, E), St};
handle_call({put, K, V}, _From, St = #st{entries = E}) ->
    {reply, ok, St#st{entries = E#{K => {0, V}}}};
handle_call(size, _From, St = #st{entries = E}) ->
    {reply, map_size(E), St};
handle_call(casts, _From, St = #st{casts = C}) ->
    {reply, C, St}.

handle_cast(incr, St = #st{casts = C}) ->
    {noreply, St#st{casts = C + 1}}.

handle_info(_Msg, St) ->
    {noreply, St}.

%% Extra (the 4th argument of sys:change_code/4,5) picks the flavour:
%%  identity  - state handed over untouched (the cheapest possible upgrade);
%%  transform - every entry rewritten, the cost of a schema migration.
code_change(_OldVsn, St, identity) ->
    {ok, St};
code_change(_OldVsn, St = #st{entries = E}, transform) ->
    {ok, St#st{entries = maps:map(fun(_K, {G, V}) -> {G + 1, V} end, E)}}.

terminate(_Reason, _St) ->
    ok.
