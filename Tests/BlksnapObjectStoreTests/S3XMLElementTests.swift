import BlksnapObjectStore
import Testing

/// The XML reader on S3's answers as the services send them, and on what it must refuse.
@Suite struct S3XMLElementTests {
    @Test func errorBody() throws {
        let body = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>\
            <BucketName>b</BucketName><RequestId>tx0000-abc</RequestId><HostId>h</HostId></Error>
            """
        let root = try S3XMLElement.parse(Array(body.utf8))
        #expect(root.name == "Error")
        #expect(root.string("Code") == "NoSuchBucket")
        #expect(root.string("RequestId") == "tx0000-abc")
    }

    @Test func listingWithEntitiesAndNamespace() throws {
        let body = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Name>b</Name><IsTruncated>true</IsTruncated>
              <Contents><Key>a &amp; b &lt;c&gt; &#233;&#x20AC;</Key><Size>3</Size><ETag>&quot;e1&quot;</ETag></Contents>
              <Contents><Key><![CDATA[x&y<z]]></Key><Size>0</Size></Contents>
              <!-- a comment -->
              <Empty/>
            </ListBucketResult>
            """
        let root = try S3XMLElement.parse(Array(body.utf8))
        #expect(root.attributes["xmlns"] == "http://s3.amazonaws.com/doc/2006-03-01/")
        let contents = root.all("Contents")
        #expect(contents.count == 2)
        #expect(contents[0].string("Key") == "a & b <c> é€")
        #expect(contents[0].string("ETag") == "\"e1\"")
        #expect(contents[1].string("Key") == "x&y<z")
        #expect(root["Empty"]?.text == "")
    }

    @Test func refusals() {
        for bad in ["", "no xml", "<a><b></a>", "<a>", "<a></a><b/>", "<!DOCTYPE x><a/>", "<a>&bogus;</a>", "<a x=1/>"] {
            #expect(throws: S3XMLElement.ParseError.self, "\(bad)") { try S3XMLElement.parse(Array(bad.utf8)) }
        }
    }

    @Test func escapeRoundTrip() throws {
        let text = "\"etag\" & <'key'>"
        let root = try S3XMLElement.parse(Array("<a>\(S3XMLElement.escape(text))</a>".utf8))
        #expect(root.text == text)
    }
}
