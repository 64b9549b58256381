# pragma version ~=0.4.3
# Kiln's test collection: an ERC-721 whose tokens level up, with ERC-4906 metadata updates. Test bench only.
# Mint and level-up are the owner's; setTokenURI/setBaseURI are the publisher's (the address Kiln sends from).

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    tokenId: indexed(uint256)

event Approval:
    owner: indexed(address)
    approved: indexed(address)
    tokenId: indexed(uint256)

event LevelUp:
    tokenId: indexed(uint256)
    level: uint256

event MetadataUpdate:
    _tokenId: uint256

event BatchMetadataUpdate:
    _fromTokenId: uint256
    _toTokenId: uint256

owner: public(address)
publisher: public(address)
name: public(String[32])
symbol: public(String[8])
ownerOf: public(HashMap[uint256, address])
balanceOf: public(HashMap[address, uint256])
getApproved: public(HashMap[uint256, address])
level: public(HashMap[uint256, uint256])
baseURI: public(String[128])
uris: HashMap[uint256, String[128]]


@deploy
def __init__(publisher: address):
    self.owner = msg.sender
    self.publisher = publisher
    self.name = "Forge Knights"
    self.symbol = "KNIGHT"


@external
@view
def supportsInterface(interfaceId: bytes4) -> bool:
    # ERC-165, ERC-721, ERC-721 metadata, ERC-4906
    return interfaceId in [0x01ffc9a7, 0x80ac58cd, 0x5b5e139f, 0x49064906]


@external
def mint(to: address, tokenId: uint256):
    assert msg.sender == self.owner, "only the owner mints"
    assert to != empty(address), "mint to the zero address"
    assert self.ownerOf[tokenId] == empty(address), "already minted"
    self.ownerOf[tokenId] = to
    self.balanceOf[to] += 1
    self.level[tokenId] = 1
    log Transfer(sender=empty(address), receiver=to, tokenId=tokenId)


@external
def levelUp(tokenId: uint256):
    holder: address = self.ownerOf[tokenId]
    assert holder != empty(address), "no such token"
    assert msg.sender == self.owner or msg.sender == holder, "only the owner or the holder"
    self.level[tokenId] += 1
    log LevelUp(tokenId=tokenId, level=self.level[tokenId])


@external
def approve(approved: address, tokenId: uint256):
    holder: address = self.ownerOf[tokenId]
    assert msg.sender == holder, "only the holder approves"
    self.getApproved[tokenId] = approved
    log Approval(owner=holder, approved=approved, tokenId=tokenId)


@external
def transferFrom(sender: address, receiver: address, tokenId: uint256):
    assert self.ownerOf[tokenId] == sender, "sender does not hold the token"
    assert msg.sender == sender or msg.sender == self.getApproved[tokenId], "not allowed"
    assert receiver != empty(address), "transfer to the zero address"
    self.getApproved[tokenId] = empty(address)
    self.balanceOf[sender] -= 1
    self.balanceOf[receiver] += 1
    self.ownerOf[tokenId] = receiver
    log Transfer(sender=sender, receiver=receiver, tokenId=tokenId)


@external
def setTokenURI(tokenId: uint256, uri: String[128]):
    assert msg.sender == self.publisher, "only the publisher"
    assert self.ownerOf[tokenId] != empty(address), "no such token"
    self.uris[tokenId] = uri
    log MetadataUpdate(_tokenId=tokenId)


@external
def setBaseURI(uri: String[128], fromId: uint256, toId: uint256):
    assert msg.sender == self.publisher, "only the publisher"
    assert fromId <= toId, "empty range"
    self.baseURI = uri
    log BatchMetadataUpdate(_fromTokenId=fromId, _toTokenId=toId)


@external
@view
def tokenURI(tokenId: uint256) -> String[206]:
    assert self.ownerOf[tokenId] != empty(address), "no such token"
    if len(self.uris[tokenId]) > 0:
        return self.uris[tokenId]
    return concat(self.baseURI, uint2str(tokenId))
