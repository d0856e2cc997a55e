%% peer_bench: Erlang/OTP gen_server hot code upgrade benchmark, the peer
%% baseline our wasm hot-swap engine is compared against.  Driven by
%% ../erlang.ts, which compiles kv_server.erl twice (vsn 1 and vsn 2) ahead of
%% time and runs:
%%     erl -noshell -pa DIR -run peer_bench main V1.beam V2.beam full|quick
%%
%% It prints plain text lines (erlang.ts turns them into JSON; OTP 25 has no
%% json module, and keeping the percentile maths in one place, TypeScript,
%% makes it identical to the other peers'):
%%     INFO key value
%%     SAMPLES flavour label ns ns ...     upgrade pauses (suspend..resume), ns
%%     PURGE flavour label ns ns ...       code:soft_purge before each upgrade, ns
%%     CLIENT flavour label calls_sent calls_ok casts_sent casts_seen
%%     CHECK flavour label name value      post-run sanity values
%%     THROUGHPUT clients calls ns
%%
%% Every loop is bounded by a count and, where it runs against the clock, a
%% deadline, so the benchmark always finishes.
-module(peer_bench).
-export([main/1]).

%% Hard bounds for the background client: it stops on request, but never runs
%% longer than this or sends more than this many calls.
-define(CLIENT_MAX_CALLS, 200000000).
-define(CLIENT_MAX_NS, 900 * 1000000000).
%% Upgrades excluded from the samples: the first load of a module version
%% warms caches and the code server and is not representative.
-define(WARMUP, 2).
%% Generous timeout for every synchronous operation: a 1M-entry transform
%% takes a few hundred ms; anything near this means something is broken.
-define(TIMEOUT, 60000).

main([V1File, V2File, "transform1m", Reps]) ->
    %% Only the transforming code_change over 1M entries, Reps times: one round of
    %% bench/cases/migration.ts, which alternates these rounds with its own.
    guarded(fun() -> run_configs([{transform, "n1m", 1000000, list_to_integer(Reps)}], V1File, V2File) end);
main([V1File, V2File, Mode]) ->
    guarded(fun() -> run(V1File, V2File, Mode =:= "quick") end).

guarded(Fun) ->
    try Fun() of
        ok -> init:stop(0)
    catch
        C:R:S ->
            io:format("ERROR ~0p~n", [{C, R, S}]),
            init:stop(1)
    end.

now_ns() -> erlang:monotonic_time(nanosecond).

%% Loads version 1, prints the INFO lines and runs the upgrade configs.
run_configs(Configs, V1File, V2File) ->
    {ok, V1} = file:read_file(V1File),
    {ok, V2} = file:read_file(V2File),
    %% Vsn -> {File, Binary}; element(Vsn, Bins).
    Bins = {{V1File, V1}, {V2File, V2}},
    {module, kv_server} = code:load_binary(kv_server, V1File, V1),
    info("otp_release", erlang:system_info(otp_release)),
    info("erts_version", erlang:system_info(version)),
    info("schedulers_online", integer_to_list(erlang:system_info(schedulers_online))),
    lists:foreach(fun(C) -> bench_upgrades(C, Bins) end, Configs).

run(V1File, V2File, Quick) ->
    R = fun(Full, Q) -> case Quick of true -> Q; false -> Full end end,
    %% {Flavour, Label, Entries, Repetitions}: fewer repetitions where one
    %% upgrade is expensive (1M entries) so the whole run stays in minutes.
    Configs = [{identity,  "n0",   0,         R(200, 30)},
               {identity,  "n10k", 10000,     R(200, 30)},
               {identity,  "n1m",  1000000,   R(50, 10)},
               {transform, "n0",   0,         R(100, 20)},
               {transform, "n10k", 10000,     R(100, 20)},
               {transform, "n1m",  1000000,   R(10, 3)}],
    run_configs(Configs, V1File, V2File),
    %% Call throughput with one client and with one client per scheduler.
    Secs = R(3, 1),
    throughput(1, Secs),
    throughput(2, Secs),
    ok.

info(K, V) -> io:format("INFO ~s ~s~n", [K, V]).

ints(L) -> lists:join(" ", [integer_to_list(X) || X <- L]).

bench_upgrades({Flavour, Label, N, Reps}, Bins) ->
    {ok, Pid} = gen_server:start(kv_server, N, []),
    Vsn0 = gen_server:call(Pid, version, ?TIMEOUT),
    N = gen_server:call(Pid, size, ?TIMEOUT),
    %% Start with a clean heap so one config's garbage is not collected in
    %% the next one's measured pause.
    garbage_collect(Pid),
    Client = start_client(Pid),
    {Pauses, Purges, _} =
        lists:foldl(fun(_, {Ps, Gs, Vsn}) ->
                            {NewVsn, P, G} = upgrade_once(Pid, Bins, Flavour, Vsn),
                            {[P | Ps], [G | Gs], NewVsn}
                    end, {[], [], Vsn0}, lists:seq(1, ?WARMUP + Reps)),
    #{calls_sent := CS, calls_ok := CO, casts_sent := XS, casts_seen := XC} =
        stop_client(Client),
    %% Sanity: no entry lost, and with `transform` every entry rewritten
    %% once per upgrade (generation == number of upgrades).
    N = gen_server:call(Pid, size, ?TIMEOUT),
    case N > 0 of
        true ->
            {ok, {Gen, N}} = gen_server:call(Pid, {get, N}, ?TIMEOUT),
            Expected = case Flavour of identity -> 0; transform -> ?WARMUP + Reps end,
            io:format("CHECK ~s ~s generation ~b~n", [Flavour, Label, Gen]),
            io:format("CHECK ~s ~s generation_expected ~b~n", [Flavour, Label, Expected]);
        false -> ok
    end,
    ok = gen_server:stop(Pid),
    Keep = lists:nthtail(?WARMUP, lists:reverse(Pauses)),
    KeepG = lists:nthtail(?WARMUP, lists:reverse(Purges)),
    io:format("SAMPLES ~s ~s ~s~n", [Flavour, Label, ints(Keep)]),
    io:format("PURGE ~s ~s ~s~n", [Flavour, Label, ints(KeepG)]),
    io:format("CLIENT ~s ~s ~b ~b ~b ~b~n", [Flavour, Label, CS, CO, XS, XC]).

%% One upgrade, Vsn -> 3 - Vsn.  The old code left by the previous upgrade is
%% purged first, outside the pause (code:load_binary refuses to load while old
%% code exists); soft_purge returns false if some process still ran old code,
%% which would be a bug here, so it is asserted.  The measured pause is from
%% just before sys:suspend to just after sys:resume: the time during which the
%% server answers nothing.
upgrade_once(Pid, Bins, Flavour, Vsn) ->
    NewVsn = 3 - Vsn,
    {File, Bin} = element(NewVsn, Bins),
    G0 = now_ns(),
    true = code:soft_purge(kv_server),
    G1 = now_ns(),
    T0 = now_ns(),
    ok = sys:suspend(Pid, ?TIMEOUT),
    {module, kv_server} = code:load_binary(kv_server, File, Bin),
    ok = sys:change_code(Pid, kv_server, Vsn, Flavour, ?TIMEOUT),
    ok = sys:resume(Pid, ?TIMEOUT),
    T1 = now_ns(),
    %% The new code really runs: version/0 answers the new vsn.
    NewVsn = gen_server:call(Pid, version, ?TIMEOUT),
    {NewVsn, T1 - T0, G1 - G0}.

%% Background client: sends one cast and one call per iteration, as fast as it
%% can, all through the upgrades.  A call whose reply is not its own sequence
%% number (or that times out) is counted as not ok; at the end it asks the
%% server how many casts it received.  Erlang keeps message order between one
%% pair of processes, so every cast sent before that final call must already be
%% counted: casts_seen == casts_sent, or a message was lost.
start_client(Pid) ->
    Deadline = now_ns() + ?CLIENT_MAX_NS,
    spawn_link(fun() -> client_loop(Pid, 0, 0, Deadline) end).

stop_client(Client) ->
    Client ! {stop, self()},
    receive {client_done, Client, Stats} -> Stats
    after ?TIMEOUT -> error(client_did_not_stop)
    end.

client_loop(Pid, Sent, Ok, Deadline) ->
    receive
        {stop, From} -> client_finish(Pid, Sent, Ok, From)
    after 0 ->
            case Sent >= ?CLIENT_MAX_CALLS orelse now_ns() > Deadline of
                true ->
                    %% Budget spent: idle until told to stop.
                    receive {stop, From} -> client_finish(Pid, Sent, Ok, From) end;
                false ->
                    gen_server:cast(Pid, incr),
                    Good = try gen_server:call(Pid, {echo, Sent}, ?TIMEOUT) of
                               Sent -> 1;
                               _ -> 0
                           catch exit:_ -> 0
                           end,
                    client_loop(Pid, Sent + 1, Ok + Good, Deadline)
            end
    end.

client_finish(Pid, Sent, Ok, From) ->
    Seen = gen_server:call(Pid, casts, ?TIMEOUT),
    From ! {client_done, self(),
            #{calls_sent => Sent, calls_ok => Ok, casts_sent => Sent, casts_seen => Seen}}.

%% Call throughput: NClients processes calling {echo, I} in a tight loop
%% against one fresh server for Secs seconds (and at most 50M calls).
throughput(NClients, Secs) ->
    {ok, Pid} = gen_server:start(kv_server, 0, []),
    Parent = self(),
    T0 = now_ns(),
    Deadline = T0 + Secs * 1000000000,
    Max = 50000000 div NClients,
    Ps = [spawn_link(fun() -> Parent ! {tp, self(), tp_loop(Pid, Deadline, Max, 0)} end)
          || _ <- lists:seq(1, NClients)],
    Counts = [receive {tp, P, C} -> C after 2 * ?TIMEOUT -> error(tp_timeout) end || P <- Ps],
    T1 = now_ns(),
    ok = gen_server:stop(Pid),
    io:format("THROUGHPUT ~b ~b ~b~n", [NClients, lists:sum(Counts), T1 - T0]).

tp_loop(_Pid, _Deadline, Max, I) when I >= Max -> I;
tp_loop(Pid, Deadline, Max, I) ->
    %% Look at the clock once per 1000 calls only, to measure calls, not clocks.
    case I rem 1000 =:= 0 andalso now_ns() > Deadline of
        true -> I;
        false ->
            I = gen_server:call(Pid, {echo, I}, ?TIMEOUT),
            tp_loop(Pid, Deadline, Max, I + 1)
    end.
