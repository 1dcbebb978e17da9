namespace Overlay.Kademlia;

/// <summary>
/// Keeps what a node publishes across restarts (<see cref="PublishedState"/>): the node saves it whenever it changes
/// and loads it on <see cref="KademliaNode.Start"/>, then re-announces everything once it has contacts. Without it the
/// records and provider records a node published are forgotten on restart and its content becomes unfindable once
/// their copies on other nodes expire. <see cref="FilePublicationStore"/> is the daemon's; tests use in-memory ones.
/// </summary>
public interface IPublicationStore
{
    /// <summary>Loads what was saved last.</summary>
    /// <returns>The state; <see cref="PublishedState.Empty"/> when nothing was saved.</returns>
    /// <exception cref="InvalidDataException">What was saved cannot be read back (the node logs it and starts with nothing).</exception>
    /// <exception cref="IOException">The storage cannot be read.</exception>
    PublishedState Load();

    /// <summary>Replaces what is saved with <paramref name="state"/>; atomic (a crash leaves the old or the new state).</summary>
    /// <param name="state">The whole state.</param>
    /// <exception cref="IOException">The storage cannot be written (the node logs it and keeps running).</exception>
    void Save(PublishedState state);
}
