%% Erlang side of scripts/bench/rpc.ts: the same rpc measurements between
%% two `erl -sname` nodes on one machine, so that Weft's figures can be read
%% as ratios measured in one run. Prints one JSON object on stdout.
%%
%% This VM becomes node `weftrpcerla`; the far node `weftrpcerlb` is
%% started with `peer` (`erl -sname weftrpcerlb ...`) and controlled over
%% its stdio. Both register with the epmd on ERL_EPMD_PORT, which the
%% caller runs.
%%
%%   erpc:call(B, weft_bench_rpc, echo, [I])         an rpc round trip
%%   gen_server:call({echo_server, B}, I)            a remote gen_server round trip
%%   Echo ! {self(), I}, receive {pong, I}           a message round trip (the link's floor)
-module(weft_bench_rpc).
-behaviour(gen_server).
-export([main/1, start_services/0, echo/1]).
-export([init/1, handle_call/3, handle_cast/2]).

main([NS, RunsS, NConcS, ConcS]) ->
    [N, Runs, NConc] = [list_to_integer(S) || S <- [NS, RunsS, NConcS]],
    Levels = [list_to_integer(C) || C <- string:split(ConcS, ",", all)],
    {ok, _} = net_kernel:start([weftrpcerla, shortnames]),
    Dir = filename:dirname(code:which(?MODULE)),
    {ok, Peer, B} = peer:start_link(#{
        name => weftrpcerlb,
        longnames => false,
        connection => standard_io,
        args => ["-setcookie", atom_to_list(erlang:get_cookie()), "-pa", Dir]
    }),
    ok = peer:call(Peer, ?MODULE, start_services, []),
    true = net_kernel:connect_node(B),
    Echo = erpc:call(B, erlang, whereis, [echo]),
    Server = {echo_server, B},

    Rpc = fun(I) -> I = erpc:call(B, ?MODULE, echo, [I]) end,
    Gen = fun(I) -> I = gen_server:call(Server, I) end,
    Msg = fun(I) -> Echo ! {self(), I}, receive {pong, I} -> I end end,

    {RpcP50, RpcP99} = figures(Rpc, N, Runs),
    {GenP50, GenP99} = figures(Gen, N, Runs),
    {MsgP50, MsgP99} = figures(Msg, N, Runs),
    Conc = lists:append([
        [io_lib:format(", \"rpcC~bPerSec\": ~.1f", [C, calls_per_sec(Rpc, C, NConc)]),
         io_lib:format(", \"genC~bPerSec\": ~.1f", [C, calls_per_sec(Gen, C, NConc)])]
        || C <- Levels]),

    peer:stop(Peer),
    io:format(
        "{\"rpcP50Us\": ~.3f, \"rpcP99Us\": ~.3f, \"genP50Us\": ~.3f, \"genP99Us\": ~.3f, "
        "\"msgP50Us\": ~.3f, \"msgP99Us\": ~.3f~s}~n",
        [RpcP50, RpcP99, GenP50, GenP99, MsgP50, MsgP99, Conc]
    ),
    halt(0).

%% Runs on the far node (through peer:call): the echo server and process.
start_services() ->
    {ok, _} = gen_server:start({local, echo_server}, ?MODULE, [], []),
    register(echo, spawn(fun loop/0)),
    ok.

%% What erpc calls on the far node.
echo(X) -> X.

loop() ->
    receive
        {From, Ping} -> From ! {pong, Ping}, loop()
    end.

init([]) -> {ok, nostate}.
handle_call(Request, _From, State) -> {reply, Request, State}.
handle_cast(_Request, State) -> {noreply, State}.

%% A warm-up, then Runs runs of N timed calls: the median of each run's p50 and p99 (µs).
figures(Fun, N, Runs) ->
    _ = times(Fun, 1000),
    All = [times(Fun, N) || _ <- lists:seq(1, Runs)],
    {median([percentile(S, 50) || S <- All]), median([percentile(S, 99) || S <- All])}.

%% Calls per second of C processes, each making its share of NConc calls of
%% Fun one after another, all at once.
calls_per_sec(Fun, C, NConc) ->
    Each = (NConc + C - 1) div C,
    Self = self(),
    T0 = erlang:monotonic_time(nanosecond),
    [spawn(fun() -> [Fun(I) || I <- lists:seq(1, Each)], Self ! done end) || _ <- lists:seq(1, C)],
    [receive done -> ok end || _ <- lists:seq(1, C)],
    T1 = erlang:monotonic_time(nanosecond),
    Each * C / ((T1 - T0) / 1.0e9).

times(Fun, N) -> times(Fun, N, []).

times(_, 0, Acc) -> Acc;
times(Fun, K, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    Fun(K),
    T1 = erlang:monotonic_time(nanosecond),
    times(Fun, K - 1, [(T1 - T0) / 1000 | Acc]).

median(L) -> lists:nth((length(L) + 1) div 2, lists:sort(L)).

percentile(L, P) ->
    S = lists:sort(L),
    Len = length(S),
    I = min(Len, max(1, ceil(P / 100 * Len))),
    lists:nth(I, S).
