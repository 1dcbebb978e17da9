namespace Overlay.Kademlia.Internal;

/// <summary>
/// The routing table's defences against one host or one network filling it (go-libp2p-kbucket's
/// <c>peerdiversity</c> filter is the model): at most one node ID per endpoint, and at most so many contacts from one
/// <see cref="IpGroup"/> per k-bucket and in the whole table, with separate limits for local groups (loopback, private,
/// link-local), where one address legitimately carries many nodes. A limit of 0 means no limit.
/// </summary>
/// <param name="OneIdPerEndPoint">Whether a second node ID answering from an endpoint already held by another ID is refused.</param>
/// <param name="PerBucket">Most contacts of one public IP group in one k-bucket.</param>
/// <param name="PerTable">Most contacts of one public IP group in the table.</param>
/// <param name="LocalPerBucket">Most contacts of one local IP group in one k-bucket.</param>
/// <param name="LocalPerTable">Most contacts of one local IP group in the table.</param>
internal sealed record DiversityLimits(bool OneIdPerEndPoint, int PerBucket, int PerTable, int LocalPerBucket, int LocalPerTable)
{
    /// <summary>No limits at all (unit tests of the bucket rules alone).</summary>
    public static readonly DiversityLimits None = new(false, 0, 0, 0, 0);

    /// <summary>Returns the limits that <paramref name="options"/> configure.</summary>
    /// <param name="options">Validated options.</param>
    /// <returns>The limits.</returns>
    public static DiversityLimits From(KademliaOptions options) => new(
        true,
        options.MaxContactsPerIpGroupPerBucket,
        options.MaxContactsPerIpGroupPerTable,
        options.MaxLocalContactsPerIpGroupPerBucket,
        options.MaxLocalContactsPerIpGroupPerTable);

    /// <summary>Gets whether any group limit applies.</summary>
    public bool LimitsGroups => PerBucket > 0 || PerTable > 0 || LocalPerBucket > 0 || LocalPerTable > 0;
}
