%% Erlang side of scripts/bench/groups.ts: the same two measurements on
%% three `erl -sname` nodes on one machine, so that Weft's figures can be
%% read as ratios measured in one run. Prints one JSON object on stdout.
%%
%% This VM becomes node `wbgerlmain`; `wbgerla` and `wbgerlb` are started
%% with `peer` and controlled over their stdio. All register with the epmd
%% on ERL_EPMD_PORT, which the caller runs.
%%
%%   global:register_name(Name, Pid)        from this node, a fresh pid per name
%%   Dispatcher ! Msg, one per peer node, each sending Msg to
%%     pg:get_local_members(G): the same work as Weft's pubsub.broadcast
%%   [P ! Msg || P <- pg:get_members(G)]    one message per member (100 on each peer)
-module(weft_bench_groups).
-export([main/1, start_scope/0, subscribers/4, dispatcher/1]).

main([NRegS, NMsgS, RunsS, PerNodeS]) ->
    [NReg, NMsg, Runs, PerNode] = [list_to_integer(S) || S <- [NRegS, NMsgS, RunsS, PerNodeS]],
    {ok, _} = net_kernel:start([wbgerlmain, shortnames]),
    Dir = filename:dirname(code:which(?MODULE)),
    Peers = [begin
                 {ok, Peer, Node} = peer:start_link(#{
                     name => Name,
                     longnames => false,
                     connection => standard_io,
                     args => ["-setcookie", atom_to_list(erlang:get_cookie()), "-pa", Dir]
                 }),
                 true = net_kernel:connect_node(Node),
                 ok = peer:call(Peer, ?MODULE, start_scope, []),
                 {Peer, Node}
             end || Name <- [wbgerla, wbgerlb]],
    Nodes = [N || {_, N} <- Peers],
    {ok, _} = pg:start(pg),
    ok = global:sync(),

    %% Warm-up, then the median over runs of the mean registration time.
    _ = register_us(300, warm),
    RegisterUs = median([register_us(NReg, R) || R <- lists:seq(1, Runs)]),

    FanOut = median([fan_out(Nodes, PerNode, NMsg, {node, R}) || R <- lists:seq(1, Runs)]),
    PerMember = median([fan_out(Nodes, PerNode, NMsg, {member, R}) || R <- lists:seq(1, Runs)]),

    [peer:stop(P) || {P, _} <- Peers],
    io:format("{\"registerUs\": ~.3f, \"deliveriesPerSec\": ~.1f, "
              "\"memberDeliveriesPerSec\": ~.1f}~n", [RegisterUs, FanOut, PerMember]),
    halt(0).

median(L) -> lists:nth((length(L) + 1) div 2, lists:sort(L)).

%% Runs on each peer (through peer:call): the default pg scope, kept alive.
start_scope() ->
    Self = self(),
    spawn(fun() -> {ok, _} = pg:start(pg), Self ! started, receive never -> ok end end),
    receive started -> ok end.

%% Mean microseconds of global:register_name from this node, a fresh pid per name.
register_us(N, Run) ->
    Pids = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, N)],
    Named = lists:zip(lists:seq(1, N), Pids),
    T0 = erlang:monotonic_time(nanosecond),
    [yes = global:register_name({Run, I}, P) || {I, P} <- Named],
    T1 = erlang:monotonic_time(nanosecond),
    [global:unregister_name({Run, I}) || {I, _} <- Named],
    [P ! stop || P <- Pids],
    (T1 - T0) / 1000 / N.

%% Starts PerNode members of group G on each node, each telling us when it
%% has NMsg messages; sends NMsg messages to every member, through one
%% dispatcher per node ({node, _}) or to each member ({member, _}); deliveries/s.
fan_out(Nodes, PerNode, NMsg, {Mode, _} = Run) ->
    G = {fan, Run},
    Self = self(),
    [spawn(Node, ?MODULE, subscribers, [G, PerNode, NMsg, Self]) || Node <- Nodes],
    [receive {ready, Node} -> ok end || Node <- Nodes],
    Total = PerNode * length(Nodes),
    wait_members(G, Total),
    Members = pg:get_members(G),
    Targets = case Mode of
        member -> Members;
        node -> [spawn(Node, ?MODULE, dispatcher, [G]) || Node <- Nodes]
    end,
    T0 = erlang:monotonic_time(nanosecond),
    send_all(Targets, NMsg),
    [receive done -> ok end || _ <- Members],
    T1 = erlang:monotonic_time(nanosecond),
    [D ! stop || D <- Targets, Mode =:= node],
    Total * NMsg / ((T1 - T0) / 1.0e9).

send_all(_, 0) -> ok;
send_all(Members, I) ->
    [P ! {msg, I} || P <- Members],
    send_all(Members, I - 1).

wait_members(G, N) ->
    case length(pg:get_members(G)) of
        N -> ok;
        _ -> timer:sleep(5), wait_members(G, N)
    end.

%% Runs on a peer: sends what it receives to G's members on this node, as
%% Weft's pubsub does with a broadcast.
dispatcher(G) ->
    receive
        stop -> ok;
        Msg -> [P ! Msg || P <- pg:get_local_members(G)], dispatcher(G)
    end.

%% Runs on a peer: PerNode members of G, each done after NMsg messages.
subscribers(G, PerNode, NMsg, Report) ->
    Pids = [spawn(fun() -> member(NMsg, Report) end) || _ <- lists:seq(1, PerNode)],
    ok = pg:join(G, Pids),
    Report ! {ready, node()}.

member(0, Report) -> Report ! done;
member(K, Report) -> receive {msg, _} -> member(K - 1, Report) end.
